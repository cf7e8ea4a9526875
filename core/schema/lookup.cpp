// The schema's lookups, called per row of a request (apart from schema.cpp,
// which parses schemas once and is compiled for size in the worker module).
#include <algorithm>

#include "schema/schema.h"

namespace edgesync {

const column* table::find_column(std::string_view client_name) const {
  int i = column_index(client_name);
  return i < 0 ? nullptr : &columns[i];
}

int table::column_index(std::string_view client_name) const {
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (columns[i].name == client_name) return static_cast<int>(i);
  return -1;
}

bool table::is_pk(std::size_t i) const {
  return std::find(primary_key.begin(), primary_key.end(), i) !=
         primary_key.end();
}

const table* schema::find_table(std::string_view client_name) const {
  int i = table_index(client_name);
  return i < 0 ? nullptr : &tables[i];
}

int schema::table_index(std::string_view client_name) const {
  for (std::size_t i = 0; i < tables.size(); ++i)
    if (tables[i].name == client_name) return static_cast<int>(i);
  return -1;
}

}  // namespace edgesync
