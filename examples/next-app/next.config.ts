import type { NextConfig } from 'next'
import { backendUrl } from './lib/backend'

const nextConfig: NextConfig = {
  // Compression buffers a streamed response until it ends, which would hold every SSE event of a run
  // back; Vercel's CDN compresses static assets on its own.
  compress: false,
  images: { unoptimized: true },
  poweredByHeader: false,
  async rewrites() {
    // Only for the one-project Vercel deployment: /api/* goes to the Python function api/index.py.
    // Everywhere else proxy.ts forwards /api/* to MAV_BACKEND_URL at request time.
    if (backendUrl(process.env) !== null) return []
    return [{ source: '/api/:path*', destination: '/api/index' }]
  },
}

export default nextConfig
