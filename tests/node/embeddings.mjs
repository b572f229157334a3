// Calls POST /v1/embeddings through the official `openai` npm package with its defaults (which
// ask for `encoding_format: "base64"` and decode the little-endian float32 bytes), and prints
// the SDK's response object as JSON. Used by tests/e2e/test_embeddings.py.
//
//   node embeddings.mjs BASE_URL API_KEY MODEL INPUTS_JSON
import OpenAI from 'openai';

const [baseURL, apiKey, model, inputsJson] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
try {
  const response = await client.embeddings.create({ model, input: JSON.parse(inputsJson) });
  process.stdout.write(JSON.stringify(response));
} catch (err) {
  // An SDK error: report its status and body so the test can assert on them.
  process.stdout.write(JSON.stringify({ sdk_error: { status: err.status ?? null, error: err.error ?? String(err) } }));
}
