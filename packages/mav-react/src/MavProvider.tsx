import { createMavClient, type MavClient } from '@mav/client'
import { createContext, type ReactNode, useContext, useMemo } from 'react'

export const MavClientContext = createContext<MavClient | null>(null)
MavClientContext.displayName = 'MavClientContext'

/** Props of {@link MavProvider}. */
export interface MavProviderProps {
  /** The client to share. Default: `createMavClient({ baseUrl })`. */
  client?: MavClient
  /** Base URL for the default client, e.g. `"/api"`. Ignored when `client` is given. */
  baseUrl?: string
  children?: ReactNode
}

/**
 * Shares a mav/1 client with `useMavClient`, `useMavRun` and `useMavModels` below it.
 *
 * @example
 * <MavProvider baseUrl="/api"><App /></MavProvider>
 */
export function MavProvider({ client: clientProp, baseUrl, children }: MavProviderProps) {
  if (clientProp === undefined && baseUrl === undefined) {
    throw new TypeError('MavProvider needs a `client` or a `baseUrl`, e.g. <MavProvider baseUrl="/api">')
  }
  const client = useMemo(() => clientProp ?? createMavClient({ baseUrl: baseUrl as string }), [clientProp, baseUrl])
  return <MavClientContext.Provider value={client}>{children}</MavClientContext.Provider>
}

/** The client of the enclosing `MavProvider`. Throws outside one. */
export function useMavClient(): MavClient {
  const client = useContext(MavClientContext)
  if (client === null) throw new Error('useMavClient must be used within <MavProvider>')
  return client
}
