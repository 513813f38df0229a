// `@mav/react/query`: what needs TanStack Query, apart so that an app without it renders every component.
// No 'use client': a server file can import the query keys; the hook runs in client components anyway.
export { mavQueryKeys } from './queryKeys'
export type { UseMavModelsOptions } from './useMavModels'
export { useMavModels } from './useMavModels'
