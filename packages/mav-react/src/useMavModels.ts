import type { MavModelInfo } from '@mav/client'
// The package itself, not './MavProvider': `@mav/react/query` is built as its own entry and must share
// the main entry's client context, not carry a copy of it.
import { useMavClient } from '@mav/react'
import { type UseQueryOptions, type UseQueryResult, useQuery } from '@tanstack/react-query'
import { mavQueryKeys } from './queryKeys'

/** Options of {@link useMavModels}: TanStack Query options except the key and the fetcher. */
export type UseMavModelsOptions = Omit<UseQueryOptions<MavModelInfo[], Error>, 'queryKey' | 'queryFn'>

/**
 * `GET /models` of the provider's client through TanStack Query (4 or 5), in the app's
 * `QueryClientProvider`; cached for a minute by default.
 *
 * @example
 * const { data: models, error } = useMavModels()
 */
export function useMavModels(options: UseMavModelsOptions = {}): UseQueryResult<MavModelInfo[], Error> {
  const client = useMavClient()
  return useQuery({
    staleTime: 60_000,
    ...options,
    queryKey: mavQueryKeys.models(client.baseUrl),
    queryFn: ({ signal }) => client.listModels({ signal }),
  })
}
