import type { Meta, StoryObj } from '@storybook/react-vite'
import { MlpActivationsPanel } from '../index'
import { sampleStep, signedSteps } from './data'

const meta = {
  title: 'Panels/MlpActivationsPanel',
  component: MlpActivationsPanel,
  args: { step: sampleStep, scale: 'linear', maxBarLength: 20 },
  argTypes: { scale: { control: 'inline-radio', options: ['linear', 'log', 'minmax'] } },
  decorators: [
    (Story) => (
      <div style={{ maxWidth: 420 }}>
        <Story />
      </div>
    ),
  ],
} satisfies Meta<typeof MlpActivationsPanel>
export default meta
type Story = StoryObj<typeof meta>

export const Linear: Story = {}
export const Log: Story = { args: { scale: 'log' } }
export const MinMax: Story = { args: { scale: 'minmax' } }
/** Signed values: positive bars solid blue, negative bars striped vermillion. */
export const SignedValues: Story = { args: { step: signedSteps[24] ?? null } }
export const Empty: Story = { args: { step: null } }
