// edgesync: the code-generation CLI.
//   edgesync validate SCHEMA.json
//   edgesync sqlite-ddl SCHEMA.json
//   edgesync pg-ddl SCHEMA.json
//   edgesync sqlite-migration OLD.json NEW.json
//   edgesync pg-migration OLD.json NEW.json
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "edgesync/control.h"
#include "edgesync/json_util.h"

namespace {

int usage() {
  std::cerr << "usage: edgesync validate|sqlite-ddl|pg-ddl SCHEMA.json\n"
               "       edgesync sqlite-migration|pg-migration OLD.json "
               "NEW.json\n";
  return 2;
}

bool read_file(const char* path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  std::string cmd = argv[1];
  bool pair = cmd == "sqlite-migration" || cmd == "pg-migration";
  if ((pair && argc != 4) || (!pair && argc != 3)) return usage();
  std::string a, b;
  if (!read_file(argv[2], a) || (pair && !read_file(argv[3], b))) {
    std::cerr << "edgesync: cannot read " << (a.empty() ? argv[2] : argv[3])
              << "\n";
    return 1;
  }
  std::string op, input = a;
  if (cmd == "validate")
    op = "schema.validate";
  else if (cmd == "sqlite-ddl")
    op = "schema.sqlite_ddl";
  else if (cmd == "pg-ddl")
    op = "schema.pg_ddl";
  else if (cmd == "sqlite-migration")
    op = "schema.sqlite_migration";
  else if (cmd == "pg-migration")
    op = "schema.pg_migration";
  else
    return usage();
  if (pair) input = "{\"from\":" + a + ",\"to\":" + b + "}";

  auto env = edgesync::parse_json(edgesync::control(op, input));
  const auto& j = env.value();
  if (!j["ok"].get<bool>()) {
    for (const auto& e : j["errors"]) {
      std::string path = e["path"].get<std::string>();
      std::cerr << "error[" << e["code"].get<std::string>() << "] "
                << (path.empty() ? "" : path + ": ")
                << e["message"].get<std::string>() << "\n";
    }
    return 1;
  }
  const auto& r = j["result"];
  if (r.is_string())
    std::cout << r.get<std::string>();
  else
    std::cout << r.dump(2) << "\n";
  return 0;
}
