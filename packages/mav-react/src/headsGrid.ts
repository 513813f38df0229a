// The heads grid's cells, made from markup: the browser parses a grid's ~330 elements from one string faster than
// React makes them one at a time, and no render reconciles them afterwards (AttentionHeadsPanel.tsx).

/**
 * The rows of a `layers` x `heads` grid: a label, then a cell per head, each a button (one tab stop for
 * the grid: the first cell; see AttentionHeadsPanel's onFocus). Spans, not buttons: 270 cells per grid,
 * and spans are lighter to make.
 */
export function headsGridHtml(layers: number, heads: number): string {
  let html = ''
  for (let layer = 0; layer < layers; layer++) {
    html += `<div class="mav-heads-row"><span class="mav-heads-label">L${layer + 1}</span>`
    for (let head = 0; head < heads; head++) {
      const stop = layer === 0 && head === 0 ? 0 : -1
      html +=
        `<span role="button" tabindex="${stop}" class="mav-heads-cell" data-layer="${layer}" data-head="${head}" ` +
        `aria-pressed="false" aria-label="L${layer + 1} head ${head + 1}"></span>`
    }
    html += '</div>'
  }
  return html
}
