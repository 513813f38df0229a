/** Where `next dev`/`next start` forward `/api/*` when MAV_BACKEND_URL is not set. */
export const DEFAULT_BACKEND_URL = 'http://127.0.0.1:8000'

/**
 * The backend that serves `/api/*`, read at request time: `MAV_BACKEND_URL` (no trailing slash), else
 * the local default. `null` on Vercel without `MAV_BACKEND_URL`: there the Python function of the same
 * project (api/index.py) serves `/api/*`.
 */
export function backendUrl(env: Record<string, string | undefined>): string | null {
  const configured = env.MAV_BACKEND_URL?.trim()
  if (configured) return configured.replace(/\/+$/, '')
  if (env.VERCEL === '1') return null
  return DEFAULT_BACKEND_URL
}
