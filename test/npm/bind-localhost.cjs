// Preload that keeps third-party Node servers on the loopback interface.
//
//   NODE_OPTIONS="--require /abs/path/to/bind-localhost.cjs" npx mcp-server-everything streamableHttp
//
// Several npm MCP servers call listen(PORT) with no host, which binds every interface. This patches
// net.Server.prototype.listen (used by http/https/express too) so that a TCP listen with no host, or
// with a wildcard host (0.0.0.0, ::, empty), binds to 127.0.0.1 instead. Unix sockets, handles and
// explicit non-wildcard hosts are left alone. BIND_LOCALHOST_HOST overrides the address (e.g. ::1).
'use strict';

const net = require('net');

const HOST = process.env.BIND_LOCALHOST_HOST || '127.0.0.1';
const WILDCARD = new Set(['', '0.0.0.0', '::', '[::]', '::0']);
const originalListen = net.Server.prototype.listen;

function isPort(v) {
  return typeof v === 'number' || (typeof v === 'string' && /^\d+$/.test(v));
}

net.Server.prototype.listen = function listen(...args) {
  const first = args[0];

  // listen() / listen(cb): random port on all interfaces.
  if (args.length === 0 || typeof first === 'function') {
    return originalListen.call(this, 0, HOST, ...args);
  }

  // listen(port[, host][, backlog][, cb]); also listen(undefined|null, cb).
  if (isPort(first) || first === undefined || first === null) {
    const port = first === undefined || first === null ? 0 : first;
    const rest = args.slice(1);
    if (typeof rest[0] === 'string') {
      if (WILDCARD.has(rest[0])) rest[0] = HOST;
    } else {
      rest.unshift(HOST); // no host given: insert one before backlog/cb
    }
    return originalListen.call(this, port, ...rest);
  }

  // listen(options[, cb]): TCP options only (not a path, handle or fd).
  if (typeof first === 'object' && !first._handle && first.fd === undefined &&
      first.path === undefined && first.handle === undefined) {
    if (first.host === undefined || first.host === null || WILDCARD.has(first.host)) {
      args[0] = { ...first, host: HOST };
    }
  }

  // Anything else (pipe path string, handle object) passes through unchanged.
  return originalListen.apply(this, args);
};
