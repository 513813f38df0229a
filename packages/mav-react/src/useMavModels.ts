import type { MavModelInfo } from '@mav/client'
import { type UseQueryOptions, type UseQueryResult, useQuery } from '@tanstack/react-query'
import { useMavClient } from './MavProvider'

/** Options of {@link useMavModels}: TanStack Query options except the key and the fetcher. */
export type UseMavModelsOptions = Omit<UseQueryOptions<MavModelInfo[], Error>, 'queryKey' | 'queryFn'>

/** Query keys this package uses, to invalidate or prefetch them. */
export const mavQueryKeys = {
  all: (baseUrl: string) => ['mav', baseUrl] as const,
  models: (baseUrl: string) => ['mav', baseUrl, 'models'] as const,
}

/**
 * `GET /models` of the provider's client through TanStack Query (cached for a minute by default).
 *
 * @example
 * const { data: models, isPending, error } = useMavModels()
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
