import { createMavClient, type MavClient } from '@mav/client'
import { QueryClient, QueryClientContext, QueryClientProvider } from '@tanstack/react-query'
import { createContext, type ReactNode, useContext, useMemo, useState } from 'react'

export const MavClientContext = createContext<MavClient | null>(null)
MavClientContext.displayName = 'MavClientContext'

/** Props of {@link MavProvider}. */
export interface MavProviderProps {
  /** The client to share. Default: `createMavClient({ baseUrl })`. */
  client?: MavClient
  /** Base URL for the default client, e.g. `"/api"`. Ignored when `client` is given. */
  baseUrl?: string
  /**
   * The QueryClient for `useMavModels`. Default: the one of an enclosing `QueryClientProvider`, or a
   * new one owned by this provider.
   */
  queryClient?: QueryClient
  children?: ReactNode
}

/**
 * Shares a mav/1 client (and a TanStack QueryClient) with `useMavClient`, `useMavModels` and
 * `useMavRun` below it.
 *
 * @example
 * <MavProvider baseUrl="/api"><App /></MavProvider>
 */
export function MavProvider({ client: clientProp, baseUrl, queryClient, children }: MavProviderProps) {
  if (clientProp === undefined && baseUrl === undefined) {
    throw new TypeError('MavProvider needs a `client` or a `baseUrl`, e.g. <MavProvider baseUrl="/api">')
  }
  const client = useMemo(() => clientProp ?? createMavClient({ baseUrl: baseUrl as string }), [clientProp, baseUrl])
  const outer = useContext(QueryClientContext)
  const [own] = useState(() => (queryClient === undefined && outer === undefined ? new QueryClient() : null))
  const content = <MavClientContext.Provider value={client}>{children}</MavClientContext.Provider>
  const chosen = queryClient ?? (outer === undefined ? own : null)
  return chosen ? <QueryClientProvider client={chosen}>{content}</QueryClientProvider> : content
}

/** The client of the enclosing `MavProvider`. Throws outside one. */
export function useMavClient(): MavClient {
  const client = useContext(MavClientContext)
  if (client === null) throw new Error('useMavClient must be used within <MavProvider>')
  return client
}
