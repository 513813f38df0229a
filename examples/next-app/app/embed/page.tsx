import type { Metadata } from 'next'
import { Suspense } from 'react'
import { Embed } from './Embed'

export const metadata: Metadata = { title: 'MAV web recording', robots: { index: false } }

/** `/embed?r=<id>` or `?src=<recording URL>`, plus `panels`, `step`, `theme`: a recording for an iframe. */
export default function EmbedPage() {
  return (
    <Suspense fallback={null}>
      <Embed />
    </Suspense>
  )
}
