/**
 * Calls `onChange` when the host's colour (or border colour) changes, however the theme was switched
 * (an attribute, a class, `color-scheme`, the system's setting): the stylesheet gives those colours a
 * near-instant transition, whose end is the signal. Reading styles on every draw instead would cost a
 * style pass per token.
 */
export function watchColor(host: Element, onChange: () => void): () => void {
  const onEnd = (event: Event) => {
    const property = (event as TransitionEvent).propertyName
    if (event.target === host && (property === 'color' || property.startsWith('border'))) onChange()
  }
  host.addEventListener('transitionend', onEnd)
  return () => host.removeEventListener('transitionend', onEnd)
}
