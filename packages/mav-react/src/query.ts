// `@mav/react/query`: what needs TanStack Query, apart from the main entry so that an app without it
// (or on another major version) can render every component. No 'use client': the query keys are plain
// data a server file can import; the hook is only ever called from client components.
export { mavQueryKeys } from './queryKeys'
export type { UseMavModelsOptions } from './useMavModels'
export { useMavModels } from './useMavModels'
