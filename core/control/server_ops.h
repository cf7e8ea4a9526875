// The server area's control operations (`server.*`): the handler of each,
// called by the one operation table in control.cpp (left out of the browser
// build). See docs/architecture.md ("Control operations") for the list.
#pragma once

#include <string>
#include <string_view>

namespace edgesync::server_ops {

/// `server.open`: {schema, limits} -> {handle, schemaVersion, pgDdl}.
std::string open(std::string_view input);

/// `server.begin`: frame {handle, userId, nowMs} + [body] -> a step frame.
std::string begin(std::string_view input);

/// `server.step`: frame {state, nowMs} + [j of each statement] -> a step
/// frame.
std::string step(std::string_view input);

/// `server.next`: frame {state, nowMs} -> a step frame: the statement of the
/// next frame of a stream whose last frame said `more`.
std::string next(std::string_view input);

/// `server.abort`: {state} -> {} (the request is forgotten).
std::string abort(std::string_view input);

/// Forgets every server and restarts handle numbering (tests, fuzzing).
void reset();

}  // namespace edgesync::server_ops
