/** Options of {@link exportPng}. */
export interface ExportPngOptions {
  /** Image pixels per CSS pixel. Default: the screen's `devicePixelRatio` (at least 1). */
  pixelRatio?: number
  /** Fill behind the element. Default: the theme's `--mav-bg` as the element shows it, else white. */
  backgroundColor?: string
}

function themeBackground(element: Element): string {
  const style = getComputedStyle(element)
  const fromTheme = style.getPropertyValue('--mav-bg').trim()
  if (fromTheme) return fromTheme
  const own = style.backgroundColor
  return own && own !== 'rgba(0, 0, 0, 0)' && own !== 'transparent' ? own : '#ffffff'
}

/**
 * A PNG of `element` as it is on screen, text and canvases (charts, heatmaps) included, at the screen's
 * pixel ratio: the whole `MAVContainer`, or one panel (`container.querySelector('[data-panel="top_predictions"]')`).
 * Browser only. The capture library loads on the first call, so apps that never export do not pay for it.
 *
 * @example
 * const blob = await exportPng(containerRef.current)
 * const url = URL.createObjectURL(blob) // e.g. for a download link
 */
export async function exportPng(element: HTMLElement, options: ExportPngOptions = {}): Promise<Blob> {
  if (typeof window === 'undefined' || !(element instanceof HTMLElement)) {
    throw new TypeError('exportPng(element): pass an element that is on the page (it runs in the browser only)')
  }
  const { domToBlob } = await import('modern-screenshot')
  const scale = options.pixelRatio ?? Math.max(1, window.devicePixelRatio || 1)
  return domToBlob(element, {
    type: 'image/png',
    scale,
    backgroundColor: options.backgroundColor ?? themeBackground(element),
  })
}
