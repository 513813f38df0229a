// Runs several mav/1 runs at once with the built @mav/client and prints one JSON line per thing seen:
// {run, replica} when the response arrives (from the x-mav-replica header), {run, event} per event,
// then {run, end} or {run, thrown: {name, message, status?, code?, retryAfter?}}. Used by
// test_ray_serve.py to watch runs through Serve's proxy while it refuses some and a replica dies.
// Usage: node mav_client_runs.mjs <baseUrl> <JSON array of run requests>
import { createMavClient } from '../../mav-client/dist/index.js'

const [baseUrl, requestsJson] = process.argv.slice(2)
const requests = JSON.parse(requestsJson)
const print = (line) => process.stdout.write(`${JSON.stringify(line)}\n`)

async function one(request, run) {
  const client = createMavClient({
    baseUrl,
    fetch: async (input, init) => {
      const response = await fetch(input, init)
      print({ run, status: response.status, replica: response.headers.get('x-mav-replica') })
      return response
    },
  })
  try {
    for await (const event of client.run(request)) print({ run, event })
    print({ run, end: true })
  } catch (error) {
    const { name, message, status, code, retryAfter } = error
    print({ run, thrown: { name, message, status, code, retryAfter } })
  }
}

await Promise.all(requests.map(one))
