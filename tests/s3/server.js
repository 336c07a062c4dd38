// The S3 server of the S3 store tests: s3rver, with AWS Signature
// Version 4 checked in front of it. s3rver 3.7 checks the access key but
// takes any V4 signature, so a wrong secret or a signing mistake would
// pass unseen. Requests that fail the check get 403 SignatureDoesNotMatch.
// Run through scripts/s3-test-server:
//   node server.js --port N --dir DIR [--secret S] [--address A]
// SPDX-License-Identifier: MIT
'use strict';

const crypto = require('crypto');
const http = require('http');
const S3rver = require('s3rver');
const AWSAccount = require('s3rver/lib/models/account');

const sha256 = data => crypto.createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest();

// RFC 3986 unreserved characters stay, everything else is %XX.
function uriEncode(text) {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    c => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

function canonicalUri(path) {
  return path
    .split('/')
    .map(segment => uriEncode(decodeURIComponent(segment)))
    .join('/');
}

function canonicalQuery(query) {
  if (!query) {
    return '';
  }
  return query
    .split('&')
    .filter(pair => pair.length > 0)
    .map(pair => {
      const at = pair.indexOf('=');
      const name = at < 0 ? pair : pair.slice(0, at);
      const value = at < 0 ? '' : pair.slice(at + 1);
      return [uriEncode(decodeURIComponent(name)),
              uriEncode(decodeURIComponent(value))];
    })
    .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1)
                                    : (a[0] < b[0] ? -1 : 1)))
    .map(pair => pair.join('='))
    .join('&');
}

// The signature S3 expects for req (method, url, lower-case headers).
function signatureFor(req, secret, scope, signedHeaders) {
  const [date, region, service] = scope;
  const [path, query] = req.url.split('?', 2);
  const headers = signedHeaders
    .map(name => {
      const value = String(req.headers[name] ?? '').trim().replace(/\s+/g, ' ');
      return `${name}:${value}\n`;
    })
    .join('');
  const canonical = [
    req.method,
    canonicalUri(path),
    canonicalQuery(query),
    headers,
    signedHeaders.join(';'),
    // S3 signs the declared payload hash; s3rver skips checking the body.
    req.headers['x-amz-content-sha256'],
  ].join('\n');
  const toSign = [
    'AWS4-HMAC-SHA256',
    req.headers['x-amz-date'],
    `${date}/${region}/${service}/aws4_request`,
    sha256(canonical),
  ].join('\n');

  let key = hmac('AWS4' + secret, date);
  key = hmac(key, region);
  key = hmac(key, service);
  key = hmac(key, 'aws4_request');
  return crypto.createHmac('sha256', key).update(toSign).digest('hex');
}

// Why a request's V4 signature is wrong, or null when it is right or not
// ours to judge (no V4 header, unknown key: s3rver answers those).
function signatureProblem(req) {
  const auth = req.headers.authorization || '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);

  if (!auth.startsWith('AWS4-HMAC-SHA256')) {
    return null;
  }
  if (!m) {
    return 'malformed Authorization header';
  }
  const [, accessKey, date, region, service, signed, given] = m;
  const account = AWSAccount.registry.get(accessKey);
  if (!account) {
    return null;
  }

  const signedHeaders = signed.split(';');
  const unsigned = Object.keys(req.headers).filter(
    name => (name === 'host' || name.startsWith('x-amz-')) &&
            !signedHeaders.includes(name),
  );
  if (unsigned.length > 0) {
    return `headers not signed: ${unsigned.join(', ')}`;
  }
  if (!(req.headers['x-amz-date'] || '').startsWith(date)) {
    return 'x-amz-date does not match the credential scope';
  }
  if (service !== 's3') {
    return `credential scope names service ${service}`;
  }

  const secret = account.accessKeys.get(accessKey);
  const want = signatureFor(req, secret, [date, region, service], signedHeaders);
  return want === given ? null : 'signature does not match';
}

// The example request of AWS's SigV4 documentation for S3 (GET Object),
// so that a mistake in this checker cannot hide one in the client.
function selfCheck() {
  const req = {
    method: 'GET',
    url: '/test.txt',
    headers: {
      host: 'examplebucket.s3.amazonaws.com',
      range: 'bytes=0-9',
      'x-amz-content-sha256': sha256(''),
      'x-amz-date': '20130524T000000Z',
    },
  };
  const got = signatureFor(req, 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    ['20130524', 'us-east-1', 's3'],
    ['host', 'range', 'x-amz-content-sha256', 'x-amz-date']);
  return got === 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41';
}

function refuse(res, message) {
  const body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error>' +
    '<Code>SignatureDoesNotMatch</Code><Message>' + message +
    '</Message></Error>';
  res.writeHead(403, {
    'Content-Type': 'application/xml',
    'Content-Length': Buffer.byteLength(body),
    Connection: 'close',
  });
  res.end(body);
}

function main(argv) {
  const opts = {address: '127.0.0.1'};
  for (let i = 0; i + 1 < argv.length; i += 2) {
    opts[argv[i].replace(/^--/, '')] = argv[i + 1];
  }
  if (!opts.port || !opts.dir) {
    console.error('usage: server.js --port N --dir DIR [--secret S] ' +
                  '[--address A]');
    process.exit(2);
  }
  if (!selfCheck()) {
    console.error('s3-test-server: the SigV4 checker fails AWS\'s example');
    process.exit(1);
  }

  if (opts.secret) {
    // Replaces the secret of s3rver's built-in access key S3RVER.
    AWSAccount.DUMMY_ACCOUNT.createKeyPair('S3RVER', opts.secret);
  }

  // serviceEndpoint "localhost": BUCKET.s3.localhost is virtual-hosted.
  const s3 = new S3rver({
    directory: opts.dir,
    silent: true,
    serviceEndpoint: 'localhost',
  });
  const app = s3.callback();
  const server = http.createServer((req, res) => {
    const problem = signatureProblem(req);
    if (problem) {
      // Drain the upload so the client reads our answer, not a reset.
      req.resume();
      refuse(res, problem);
      return;
    }
    app(req, res);
  });
  server.on('error', err => {
    console.error(`s3-test-server: ${err.message}`);
    process.exit(1);
  });
  server.listen(Number(opts.port), opts.address);
}

main(process.argv.slice(2));
