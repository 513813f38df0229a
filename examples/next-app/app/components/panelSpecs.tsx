import { AttentionHeadsPanel, LogitLensPanel, type MavPanelSpec } from '@mav/react'
import type { PanelId } from '../../lib/settings'

// The detail panels go to MAVContainer by reference; the other ids are the container's own names.
const BY_REFERENCE: Partial<Record<PanelId, MavPanelSpec>> = {
  attention_heads: <AttentionHeadsPanel key="attention_heads" />,
  logit_lens: <LogitLensPanel key="logit_lens" />,
}

/** The form's panel ids as `MAVContainer`'s `panels`. */
export function panelSpecs(ids: readonly PanelId[]): MavPanelSpec[] {
  return ids.map((id) => BY_REFERENCE[id] ?? (id as MavPanelSpec))
}
