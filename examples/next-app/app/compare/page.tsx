import type { Metadata } from 'next'
import { Suspense } from 'react'
import { ComparePage } from './ComparePage'

export const metadata: Metadata = { title: 'MAV web: compare runs' }

/** `/compare?runs=2&a.prompt=...&b.temperature=...`: 2 to 4 runs side by side, all settings in the URL. */
export default function Compare() {
  return (
    // The comparison reads its settings from the URL query, which only exists in the browser.
    <Suspense fallback={<p className="demo-loading">Loading…</p>}>
      <ComparePage />
    </Suspense>
  )
}
