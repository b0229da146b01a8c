// Sends Rekognition calls with the AWS SDK for JavaScript v3 and prints what the SDK made of
// each answer, as one JSON array on stdout: tests/offline/test_local_rekognition_js.py
// asserts on it. The SDK validates nothing before it sends, so the service must refuse.
//
// usage: node rekognition_calls.mjs ENDPOINT < calls.json
//   calls.json: [{"command": "GetLabelDetection", "input": {...}}, ...]
import * as rekognition from "@aws-sdk/client-rekognition";

const [endpoint] = process.argv.slice(2);
let text = "";
for await (const chunk of process.stdin) text += chunk;

const client = new rekognition.RekognitionClient({
  endpoint,
  region: "eu-west-1",
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
});

const results = [];
for (const { command, input } of JSON.parse(text)) {
  const Command = rekognition[`${command}Command`];
  try {
    const { $metadata, ...output } = await client.send(new Command(input));
    results.push({ ok: true, ...seen($metadata), output });
  } catch (error) {
    if (!error.$metadata) throw error; // not an answer from the service
    results.push({
      ok: false,
      name: error.name,
      fault: error.$fault,
      message: error.message,
      ...seen(error.$metadata),
    });
  }
}
process.stdout.write(JSON.stringify(results));

function seen(metadata) {
  return {
    status: metadata.httpStatusCode,
    requestId: metadata.requestId,
    attempts: metadata.attempts,
  };
}
