const VISIBLE: Record<string, string> = { ' ': '␣', '\n': '↵', '\t': '⇥', '\r': '␍' }

/** Token text with whitespace made visible (`␣`, `↵`, `⇥`, `␍`); an empty token shows as `∅`. */
export function visibleWhitespace(text: string): string {
  if (text === '') return '∅'
  return text.replace(/[ \n\t\r]/g, (char) => VISIBLE[char] ?? char)
}

/** A probability as a percentage with two decimals: `0.1234` -> `"12.34%"`. */
export function formatPercent(probability: number): string {
  return `${(probability * 100).toFixed(2)}%`
}

/** A raw value with `digits` decimals. */
export function formatValue(value: number, digits = 2): string {
  return value.toFixed(digits)
}
