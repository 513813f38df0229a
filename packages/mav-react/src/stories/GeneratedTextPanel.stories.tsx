import type { Meta, StoryObj } from '@storybook/react-vite'
import { GeneratedTextPanel, MavRunScope } from '../index'
import { recording, sampleStep } from './data'

const meta = {
  title: 'Panels/GeneratedTextPanel',
  component: GeneratedTextPanel,
  args: { limitChars: 250 },
  decorators: [
    (Story) => (
      <MavRunScope events={recording}>
        <div style={{ maxWidth: 520 }}>
          <Story />
        </div>
      </MavRunScope>
    ),
  ],
} satisfies Meta<typeof GeneratedTextPanel>
export default meta
type Story = StoryObj<typeof meta>

export const InARun: Story = {}
export const LimitedTo60Chars: Story = { args: { limitChars: 60 } }
export const Standalone: Story = { args: { step: sampleStep, text: 'It made books cheap enough for' } }
export const Empty: Story = { args: { step: null } }
