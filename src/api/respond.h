// Answering REST requests with JSON: the one place a handler's value or error becomes a
// response ({"detail", "error"} with the status of the error's core::Errc).
#pragma once

#include "net/http.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace forge::api {

inline void sendJson(const net::ResponseWriterPtr& writer, int status,
                     const boost::json::value& body) {
  writer->send(net::Response::json(status, boost::json::serialize(body)));
}

inline void sendError(const net::ResponseWriterPtr& writer, const core::Error& error) {
  writer->send(net::Response::error(error));
}

} // namespace forge::api
