// Sends InvokeEndpoint calls with the AWS SDK for JavaScript v3 and prints what the SDK made of
// each answer, as one JSON array on stdout: tests/offline/test_local_sagemaker_runtime_js.py
// asserts on it.
//
// usage: node sagemaker_runtime_calls.mjs ENDPOINT < calls.json
//   calls.json: [{"EndpointName": "...", "Body": "<text>", "ContentType": "..."}, ...]
import {
  InvokeEndpointCommand,
  SageMakerRuntimeClient,
} from "@aws-sdk/client-sagemaker-runtime";

const [endpoint] = process.argv.slice(2);
let text = "";
for await (const chunk of process.stdin) text += chunk;

const client = new SageMakerRuntimeClient({
  endpoint,
  region: "eu-west-1",
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
});

const results = [];
for (const input of JSON.parse(text)) {
  try {
    const { $metadata, Body, ...output } = await client.send(
      new InvokeEndpointCommand({ ...input, Body: new TextEncoder().encode(input.Body) }),
    );
    results.push({ ok: true, ...seen($metadata), output, body: new TextDecoder().decode(Body) });
  } catch (error) {
    if (!error.$metadata) throw error; // not an answer from the service
    results.push({
      ok: false,
      name: error.name,
      fault: error.$fault,
      message: error.message,
      originalStatusCode: error.OriginalStatusCode,
      ...seen(error.$metadata),
    });
  }
}
process.stdout.write(JSON.stringify(results));

function seen(metadata) {
  return { status: metadata.httpStatusCode, attempts: metadata.attempts };
}
