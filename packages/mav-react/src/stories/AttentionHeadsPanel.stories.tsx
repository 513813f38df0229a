import type { Meta, StoryObj } from '@storybook/react-vite'
import { AttentionHeadsPanel, MavRunScope } from '../index'
import { detailRecording, detailStep } from './data'

const meta = {
  title: 'Panels/AttentionHeadsPanel',
  component: AttentionHeadsPanel,
  args: { step: detailStep },
  decorators: [
    (Story) => (
      <div style={{ maxWidth: 480 }}>
        <Story />
      </div>
    ),
  ],
} satisfies Meta<typeof AttentionHeadsPanel>
export default meta
type Story = StoryObj<typeof meta>

/** In a run scope (a real SmolLM2 run with detail on): choose a cell to see what that head reads. */
export const InRunScope: Story = {
  args: { step: undefined },
  render: (args) => (
    <MavRunScope events={detailRecording}>
      <AttentionHeadsPanel {...args} />
    </MavRunScope>
  ),
}
export const Standalone: Story = {}
export const WithoutDetail: Story = { args: { step: { ...detailStep, heads: undefined } } }
