import { Suspense } from 'react'
import { Demo } from '../../Demo'

/** A shared run's link: the demo with that run opened and replayed, for anyone. */
export default async function SharedRunPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params
  return (
    <Suspense fallback={<p className="demo-loading">Loading…</p>}>
      <Demo recordingId={id} />
    </Suspense>
  )
}
