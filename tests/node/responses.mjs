// Calls POST /v1/responses through the official `openai` npm package, once plain and once
// streamed with the SDK's own stream helper, and prints what the SDK made of each as JSON.
// Used by tests/e2e/test_responses.py so the bridge is not tuned to the Python SDK alone.
//
//   node responses.mjs BASE_URL API_KEY MODEL INPUT
import OpenAI from 'openai';

const [baseURL, apiKey, model, input] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
try {
  const plain = await client.responses.create({ model, input, max_output_tokens: 200 });
  const deltas = [];
  const stream = client.responses.stream({ model, input, max_output_tokens: 200 });
  for await (const event of stream) {
    if (event.type === 'response.output_text.delta') deltas.push(event.delta);
  }
  const final = await stream.finalResponse();
  process.stdout.write(JSON.stringify({
    plain: { id: plain.id, status: plain.status, output_text: plain.output_text, usage: plain.usage },
    streamed: { deltas, status: final.status, output_text: final.output_text, usage: final.usage },
  }));
} catch (err) {
  process.stdout.write(JSON.stringify({ sdk_error: { status: err.status ?? null, error: err.error ?? String(err) } }));
}
