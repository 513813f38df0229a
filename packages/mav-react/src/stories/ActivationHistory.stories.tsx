import type { Meta, StoryObj } from '@storybook/react-vite'
import { ActivationHistory, MavRunScope, Timeline } from '../index'
import { longRun, recording } from './data'

const meta = {
  title: 'ActivationHistory',
  component: ActivationHistory,
  args: { scale: 'linear', rowHeight: 3 },
  argTypes: { scale: { control: 'inline-radio', options: ['linear', 'log', 'minmax'] } },
  decorators: [
    (Story, context) => (
      <MavRunScope events={context.parameters.long ? longRun() : recording}>
        <div style={{ display: 'grid', gap: 12, maxWidth: 720 }}>
          <Timeline />
          <Story />
        </div>
      </MavRunScope>
    ),
  ],
} satisfies Meta<typeof ActivationHistory>
export default meta
type Story = StoryObj<typeof meta>

export const Recording: Story = {}
/** 2,000 steps x 31 layers, drawn once. */
export const TwoThousandSteps: Story = { parameters: { long: true }, args: { rowHeight: 4 } }
