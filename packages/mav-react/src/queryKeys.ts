/**
 * The TanStack Query keys of `useMavModels`, to invalidate or prefetch them. Plain data, importable in
 * a server file (`@mav/react/query` has no `'use client'`).
 */
export const mavQueryKeys = {
  all: (baseUrl: string) => ['mav', baseUrl] as const,
  models: (baseUrl: string) => ['mav', baseUrl, 'models'] as const,
}
