import { type NextRequest, NextResponse } from 'next/server'
import { backendUrl } from './lib/backend'

/**
 * Forwards `/api/*` to the mav/1 backend. A rewrite from the proxy (Next's middleware) rather than
 * `rewrites()` in next.config.ts, because those are fixed at build time and this reads MAV_BACKEND_URL
 * when the request arrives: one build runs against any backend. Streams pass through unbuffered, and a
 * browser that goes away closes the upstream request, which stops generation on the backend.
 */
export function proxy(request: NextRequest) {
  const backend = backendUrl(process.env)
  if (backend === null) return NextResponse.next()
  return NextResponse.rewrite(`${backend}${request.nextUrl.pathname}${request.nextUrl.search}`)
}

export const config = { matcher: '/api/:path*' }
