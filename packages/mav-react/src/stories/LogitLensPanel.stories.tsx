import type { Meta, StoryObj } from '@storybook/react-vite'
import { LogitLensPanel, MavRunScope, Timeline } from '../index'
import { detailRecording, detailStep } from './data'

const meta = {
  title: 'Panels/LogitLensPanel',
  component: LogitLensPanel,
  args: { step: detailStep },
  decorators: [
    (Story) => (
      <div style={{ maxWidth: 560 }}>
        <Story />
      </div>
    ),
  ],
} satisfies Meta<typeof LogitLensPanel>
export default meta
type Story = StoryObj<typeof meta>

/** A real SmolLM2 run with detail on, with a timeline and the "which layer settles" strip. */
export const InRunScope: Story = {
  args: { step: undefined },
  render: (args) => (
    <MavRunScope events={detailRecording}>
      <Timeline />
      <LogitLensPanel {...args} />
    </MavRunScope>
  ),
}
export const Standalone: Story = {}
export const WithoutDetail: Story = { args: { step: { ...detailStep, lens: undefined } } }
