import { type NextRequest, NextResponse } from 'next/server'
import { backendUrl } from './lib/backend'

/**
 * Forwards `/api/*` to the mav/1 backend. A rewrite from the proxy (Next's middleware) rather than
 * `rewrites()` in next.config.ts, because those are fixed at build time and this reads MAV_BACKEND_URL
 * when the request arrives: one build runs against any backend. Streams pass through unbuffered, and a
 * browser that goes away closes the upstream request, which stops generation on the backend.
 *
 * With MAV_BACKEND_TOKEN set, the request goes on with `Authorization: Bearer <token>` (the backend's
 * MAV_API_TOKEN), so the token stays on the server and never reaches the browser.
 */
export function proxy(request: NextRequest) {
  const backend = backendUrl(process.env)
  if (backend === null) return NextResponse.next()
  const destination = `${backend}${request.nextUrl.pathname}${request.nextUrl.search}`
  const token = process.env.MAV_BACKEND_TOKEN?.trim()
  if (!token) return NextResponse.rewrite(destination)
  const headers = new Headers(request.headers)
  headers.set('authorization', `Bearer ${token}`)
  return NextResponse.rewrite(destination, { request: { headers } })
}

export const config = { matcher: '/api/:path*' }
