// Loaded by path (the worker and its workflow bundle load a failure converter that way) when payloads
// are encrypted: a failure's message and stack trace move into an encoded payload, so they are
// encrypted like everything else (a provider's error can quote the request). Plain CommonJS, as
// the SDK require()s it and it also runs inside the workflow sandbox.
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
