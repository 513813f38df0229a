import type { Decorator } from '@storybook/react-vite'

/** Wraps every story in the theme chosen in the toolbar (`data-mav-theme`), on the theme's background. */
export const withTheme: Decorator = (Story, context) => {
  const theme = context.globals.theme === 'dark' ? 'dark' : 'light'
  return (
    <div data-mav-theme={theme} style={{ background: 'var(--mav-bg)', padding: 16, minHeight: '100%' }}>
      <Story />
    </div>
  )
}
