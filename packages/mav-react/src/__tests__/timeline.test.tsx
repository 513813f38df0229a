import type { MavStepEvent } from '@mav/client'
import { fireEvent, render, screen } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import { MavRunScope, Timeline, TopPredictionsPanel } from '../index'
import { dispatch, recordingEvents, stepsOf, storeWith } from './helpers'

function setup(count = 10) {
  const events = recordingEvents()
  const steps = stepsOf(events)
  const firstStep = events.findIndex((event) => event.type === 'step')
  const store = storeWith(events.slice(0, firstStep + count))
  const user = userEvent.setup()
  render(
    <MavRunScope store={store} updates="sync">
      <Timeline />
      <TopPredictionsPanel />
    </MavRunScope>,
  )
  const slider = screen.getByRole('slider', { name: 'Step' })
  const shown = () => {
    const chosen = screen.getByRole('region', { name: 'Top predictions' }).querySelector('tr[data-chosen]')
    return Number(chosen?.getAttribute('data-token-id'))
  }
  const tokenOf = (index: number) => (steps[index] as MavStepEvent).token.id
  return { store, steps, user, slider, shown, tokenOf }
}

describe('Timeline', () => {
  it('follows the newest step live and says so', () => {
    const { store, steps, slider, shown, tokenOf } = setup(5)
    expect(slider.getAttribute('aria-valuenow')).toBe('5')
    expect(slider.getAttribute('aria-valuemax')).toBe('5')
    expect(slider.closest('.mav-timeline')?.getAttribute('data-state')).toBe('live')
    expect(shown()).toBe(tokenOf(4))
    dispatch(store, steps[5] as MavStepEvent)
    expect(slider.getAttribute('aria-valuenow')).toBe('6')
    expect(shown()).toBe(tokenOf(5))
  })

  it('moves with the arrow keys, PageUp/PageDown and Home, and pauses there while the run goes on', async () => {
    const { store, steps, user, slider, shown, tokenOf } = setup(20)
    slider.focus()
    await user.keyboard('{ArrowLeft}{ArrowLeft}')
    expect(slider.getAttribute('aria-valuenow')).toBe('18')
    expect(shown()).toBe(tokenOf(17))
    expect(slider.getAttribute('data-state')).toBe('paused')
    dispatch(store, steps[20] as MavStepEvent)
    expect(slider.getAttribute('aria-valuenow')).toBe('18')
    expect(slider.getAttribute('aria-valuemax')).toBe('21')
    await user.keyboard('{ArrowRight}')
    expect(shown()).toBe(tokenOf(18))
    await user.keyboard('{PageDown}')
    expect(slider.getAttribute('aria-valuenow')).toBe('9')
    await user.keyboard('{Home}')
    expect(slider.getAttribute('aria-valuenow')).toBe('1')
    expect(slider.getAttribute('aria-valuetext')).toBe(
      `Step 1 of 21: ${(steps[0] as MavStepEvent).token.text.replace(' ', '␣')}`,
    )
    await user.keyboard('{ArrowDown}')
    expect(slider.getAttribute('aria-valuenow')).toBe('1')
    await user.keyboard('{PageUp}{ArrowUp}')
    expect(slider.getAttribute('aria-valuenow')).toBe('12')
  })

  it('End and the Follow live button go back to live; Space pauses and resumes', async () => {
    const { store, steps, user, slider, shown, tokenOf } = setup(8)
    slider.focus()
    await user.keyboard('{Home}')
    await user.keyboard('{End}')
    expect(slider.getAttribute('data-state')).toBe('live')
    dispatch(store, steps[8] as MavStepEvent)
    expect(shown()).toBe(tokenOf(8))
    await user.keyboard(' ')
    expect(slider.getAttribute('data-state')).toBe('paused')
    dispatch(store, steps[9] as MavStepEvent)
    expect(shown()).toBe(tokenOf(8))
    const follow = screen.getByRole('button', { name: 'Follow live' })
    expect(follow.getAttribute('aria-pressed')).toBe('false')
    await user.click(follow)
    expect(follow.getAttribute('aria-pressed')).toBe('true')
    expect(shown()).toBe(tokenOf(9))
  })

  it('steps with Previous/Next like openmav --interactive', async () => {
    const { user, slider, shown, tokenOf } = setup(6)
    await user.click(screen.getByRole('button', { name: 'Previous step' }))
    expect(shown()).toBe(tokenOf(4))
    await user.click(screen.getByRole('button', { name: 'Previous step' }))
    await user.click(screen.getByRole('button', { name: 'Next step' }))
    expect(shown()).toBe(tokenOf(4))
    expect(slider.getAttribute('data-state')).toBe('paused')
    await user.click(screen.getByRole('button', { name: 'Next step' }))
    expect((screen.getByRole('button', { name: 'Next step' }) as HTMLButtonElement).disabled).toBe(true)
  })

  it('selects the step under the pointer', () => {
    const { slider, shown, tokenOf } = setup(11)
    slider.getBoundingClientRect = () => ({ left: 0, width: 100, top: 0, height: 24 }) as DOMRect
    fireEvent.pointerDown(slider, { clientX: 30, pointerId: 1 })
    expect(slider.getAttribute('aria-valuenow')).toBe('4')
    expect(shown()).toBe(tokenOf(3))
  })

  it('no longer looks live once the run is done, and then only goes back to the last step', async () => {
    const events = recordingEvents()
    const user = userEvent.setup()
    render(
      <MavRunScope events={events} updates="sync">
        <Timeline />
      </MavRunScope>,
    )
    const slider = screen.getByRole('slider', { name: 'Step' })
    const follow = screen.getByRole('button', { name: 'Follow live' }) as HTMLButtonElement
    expect(follow.getAttribute('aria-pressed')).toBe('false')
    expect(follow.disabled).toBe(true)
    slider.focus()
    await user.keyboard('{Home}')
    expect(follow.disabled).toBe(false)
    await user.click(follow)
    expect(slider.getAttribute('aria-valuenow')).toBe(String(stepsOf(events).length))
    expect(follow.getAttribute('aria-pressed')).toBe('false')
    expect(follow.disabled).toBe(true)
  })

  it('says there are no steps yet', () => {
    render(
      <MavRunScope>
        <Timeline />
      </MavRunScope>,
    )
    expect(screen.getByRole('slider').getAttribute('aria-valuetext')).toBe('No steps yet')
  })
})
