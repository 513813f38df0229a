import type { Metadata, Viewport } from 'next'
import type { ReactNode } from 'react'
import '@mav/react/styles.css'
import './globals.css'

export const metadata: Metadata = {
  title: 'MAV web: watch a language model think',
  description:
    'Stream a language model’s internals token by token: generated text, top predictions, MLP activations, attention entropy and the output distribution.',
}

export const viewport: Viewport = {
  width: 'device-width',
  initialScale: 1,
  colorScheme: 'light dark',
}

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  )
}
