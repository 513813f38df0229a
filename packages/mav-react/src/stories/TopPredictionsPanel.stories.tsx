import type { Meta, StoryObj } from '@storybook/react-vite'
import { TopPredictionsPanel } from '../index'
import { recordedSteps, sampleStep } from './data'

const meta = {
  title: 'Panels/TopPredictionsPanel',
  component: TopPredictionsPanel,
  args: { step: sampleStep },
  decorators: [
    (Story) => (
      <div style={{ maxWidth: 420 }}>
        <Story />
      </div>
    ),
  ],
} satisfies Meta<typeof TopPredictionsPanel>
export default meta
type Story = StoryObj<typeof meta>

export const Default: Story = {}
/** A step whose top predictions include a newline and spaces, made visible. */
export const Whitespace: Story = {
  args: { step: recordedSteps.find((step) => step.top.some((p) => p.text.includes('\n'))) ?? sampleStep },
}
export const Top5: Story = { args: { limit: 5 } }
export const Empty: Story = { args: { step: null } }
