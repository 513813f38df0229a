// Debian's Chromium, launched the one way that works on these machines: headless, without the sandbox
// (tests run as root), and without background networking (the closed network refuses those
// connections, many at a time). Shared by the end-to-end, consumer and render tests.
export const chromiumPath = process.env.MAV_CHROMIUM ?? '/usr/bin/chromium'

export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]

/** Options for playwright-core's `chromium.launch`. */
export const chromiumLaunchOptions = () => ({ executablePath: chromiumPath, args: chromiumArgs })
