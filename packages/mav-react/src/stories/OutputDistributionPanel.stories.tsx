import type { Meta, StoryObj } from '@storybook/react-vite'
import { OutputDistributionPanel } from '../index'
import { recordedSteps, sampleStep } from './data'

const meta = {
  title: 'Panels/OutputDistributionPanel',
  component: OutputDistributionPanel,
  args: { step: sampleStep, bins: 20 },
  decorators: [
    (Story) => (
      <div style={{ maxWidth: 480 }}>
        <Story />
      </div>
    ),
  ],
} satisfies Meta<typeof OutputDistributionPanel>
export default meta
type Story = StoryObj<typeof meta>

export const Default: Story = {}
/** The most confident step of the run. */
export const Peaked: Story = {
  args: {
    step: recordedSteps.reduce((a, b) => (b.distribution.entropy < a.distribution.entropy ? b : a), sampleStep),
  },
}
/** The least confident step of the run. */
export const Flat: Story = {
  args: {
    step: recordedSteps.reduce((a, b) => (b.distribution.entropy > a.distribution.entropy ? b : a), sampleStep),
  },
}
export const Empty: Story = { args: { step: null } }
