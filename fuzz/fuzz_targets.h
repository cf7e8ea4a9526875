// The fuzz targets' entry functions, for the native regression tests
// (tests/unit/fuzz_regression_test.cpp). Each returns 0; a broken property
// goes to edgesync::fuzz::report.
#pragma once

#include <cstddef>
#include <cstdint>

/// json_scanner vs nlohmann: same verdict, same values.
int es_fuzz_json_scanner(const std::uint8_t* data, std::size_t size);
/// The server's request validator over tests/fixtures/schema.v1.json.
int es_fuzz_validate_request(const std::uint8_t* data, std::size_t size);
/// Schema JSON -> parse_schema -> SQLite/PostgreSQL DDL and migrations.
int es_fuzz_schema_codegen(const std::uint8_t* data, std::size_t size);
/// The es_call dispatcher (edgesync::control): op names and frames.
int es_fuzz_control(const std::uint8_t* data, std::size_t size);
/// The client engine reading /sync answers.
int es_fuzz_client_response(const std::uint8_t* data, std::size_t size);
