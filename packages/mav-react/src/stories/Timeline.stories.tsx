import type { Meta, StoryObj } from '@storybook/react-vite'
import { GeneratedTextPanel, MavRunScope, Timeline, TopPredictionsPanel } from '../index'
import { recording } from './data'

const meta = {
  title: 'Timeline',
  component: Timeline,
  decorators: [
    (Story) => (
      <MavRunScope events={recording}>
        <div style={{ display: 'grid', gap: 12, maxWidth: 640 }}>
          <Story />
          <GeneratedTextPanel limitChars={120} />
          <TopPredictionsPanel limit={5} />
        </div>
      </MavRunScope>
    ),
  ],
} satisfies Meta<typeof Timeline>
export default meta
type Story = StoryObj<typeof meta>

/** Focus the slider: arrows step, PageUp/PageDown jump 10, Home goes to the first step, End follows live, Space pauses. */
export const WithPanels: Story = {}
