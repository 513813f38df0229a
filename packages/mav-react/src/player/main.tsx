// Entry of the standalone player bundle (dist/player): reads the page's data and shows it.
import { createRoot } from 'react-dom/client'
import { MavPlayer } from './Player'
import { type MavPlayerData, PLAYER_DATA_ID } from './playerData'

const element = document.getElementById(PLAYER_DATA_ID)
const root = document.getElementById('mav-player')
if (element && root) {
  const data = JSON.parse(element.textContent ?? '{}') as MavPlayerData
  const theme = data.options?.theme
  if (theme === 'light' || theme === 'dark') document.documentElement.setAttribute('data-mav-theme', theme)
  createRoot(root).render(<MavPlayer data={{ recording: data.recording ?? '', options: data.options ?? {} }} />)
}
