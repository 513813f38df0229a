import type { Meta, StoryObj } from '@storybook/react-vite'
import { AttentionEntropyPanel } from '../index'
import { sampleStep } from './data'

const meta = {
  title: 'Panels/AttentionEntropyPanel',
  component: AttentionEntropyPanel,
  args: { step: sampleStep, scale: 'linear', maxBarLength: 20 },
  argTypes: { scale: { control: 'inline-radio', options: ['linear', 'log', 'minmax'] } },
  decorators: [
    (Story) => (
      <div style={{ maxWidth: 420 }}>
        <Story />
      </div>
    ),
  ],
} satisfies Meta<typeof AttentionEntropyPanel>
export default meta
type Story = StoryObj<typeof meta>

export const Linear: Story = {}
export const MinMax: Story = { args: { scale: 'minmax' } }
export const Empty: Story = { args: { step: null } }
