import * as z from 'zod/mini'

/** A finite JSON number: NaN and Infinity cannot cross the wire, so a schema never has to accept them. */
export const finite = () => z.number()

/** A probability in [0, 1]. */
export const probability = () => z.number().check(z.gte(0), z.lte(1))

/** A non-negative integer. */
export const count = () => z.int().check(z.gte(0))

/** One token: its vocabulary id and its decoded text. */
export const tokenSchema = z.object({
  id: count(),
  text: z.string(),
})
export type MavToken = z.infer<typeof tokenSchema>
