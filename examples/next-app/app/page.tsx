import { Suspense } from 'react'
import { Demo } from './Demo'

export default function Page() {
  return (
    // The demo reads its settings from the URL query, which only exists in the browser.
    <Suspense fallback={<p className="demo-loading">Loading…</p>}>
      <Demo />
    </Suspense>
  )
}
