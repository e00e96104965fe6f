// An operator-supplied PKI made with the openssl CLI (as cert-manager or a
// corporate CA would make it) placed in <data>/pki before the first start:
// the controller uses it as is, and an agent certificate issued by the same
// openssl CA serves a backup.
#include <filesystem>
#include <fstream>

#include "tests/controller/e2e/e2e_fixture.h"
#include "tests/support/file_tree.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class OperatorPkiE2eTest : public E2eTest {
 protected:
  // Runs openssl with `args`; records a failure with its output.
  void OpenSsl(std::vector<std::string> args) {
    args.insert(args.begin(), "openssl");
    ProcessOutput out = RunProcess(args);
    EXPECT_EQ(out.exit_code, 0) << "openssl " << args[1] << ": " << out.output;
  }

  static void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

  // A P-256 key, a CSR for `cn`, and a certificate signed by the staged CA
  // with the extensions in `ext`.
  void IssueLeaf(const std::string& dir, const std::string& name, const std::string& cn,
                 const std::string& ext) {
    Write(dir + "/" + name + ".cnf",
          "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = " + cn + "\nO = Operator Test\n");
    Write(dir + "/" + name + ".ext", ext);
    OpenSsl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
             dir + "/" + name + ".key"});
    OpenSsl({"req", "-new", "-config", dir + "/" + name + ".cnf", "-key", dir + "/" + name + ".key", "-out",
             dir + "/" + name + ".csr"});
    OpenSsl({"x509", "-req", "-in", dir + "/" + name + ".csr", "-CA", dir + "/ca.crt", "-CAkey",
             dir + "/ca.key", "-set_serial", "0x" + std::to_string(1000 + serial_++) + "1f2e3d4c5b6a",
             "-days", "30", "-sha256", "-extfile", dir + "/" + name + ".ext", "-out",
             dir + "/" + name + ".crt"});
  }

  int serial_ = 0;
};

TEST_F(OperatorPkiE2eTest, OpensslMadePkiServesABackup) {
  if (!HaveProgram("openssl")) GTEST_SKIP() << "openssl CLI not installed";
  stack_ = std::make_unique<E2eStack>();
  const std::string staging = stack_->tmp().Sub("operator-pki");
  fs::create_directories(staging);

  // The CA.
  Write(staging + "/ca.cnf",
        "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = Operator Test Root CA\nO = Operator Test\n"
        "[v3_ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n"
        "subjectKeyIdentifier = hash\n");
  OpenSsl(
      {"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", staging + "/ca.key"});
  OpenSsl({"req", "-new", "-x509", "-config", staging + "/ca.cnf", "-extensions", "v3_ca", "-key",
           staging + "/ca.key", "-days", "30", "-sha256", "-out", staging + "/ca.crt"});
  // The controller (TLS client) and the agent of instance "opsa" (TLS server).
  IssueLeaf(staging, "controller", "clawback controller",
            "basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n"
            "extendedKeyUsage = clientAuth\nsubjectAltName = URI:spiffe://claworc/controller\n"
            "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n");
  IssueLeaf(staging, "agent", "opsa agent",
            "basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n"
            "extendedKeyUsage = serverAuth,clientAuth\nsubjectAltName = URI:spiffe://claworc/instance/opsa\n"
            "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n");
  ASSERT_FALSE(HasFailure());

  // Into <data>/pki before the first start.
  const std::string pki = stack_->pki_dir();
  fs::create_directories(pki);
  for (const char* f : {"ca.crt", "ca.key", "controller.crt", "controller.key"}) {
    fs::copy_file(staging + "/" + f, pki + "/" + f);
    fs::permissions(pki + "/" + f, std::string(f).ends_with(".key") ? fs::perms(0600) : fs::perms(0644));
  }
  const std::string ca_before = ReadFile(pki + "/ca.crt");
  const std::string controller_before = ReadFile(pki + "/controller.crt");
  Status started = stack_->StartController();
  ASSERT_TRUE(started.ok()) << started.ToString();
  EXPECT_EQ(ReadFile(pki + "/ca.crt"), ca_before) << "operator files are never overwritten";
  EXPECT_EQ(ReadFile(pki + "/controller.crt"), controller_before) << "operator files are never overwritten";

  const std::string root = MakeSmallRoot(stack_->tmp().Sub("root-opsa"));
  auto opsa = stack_->AddInstance(
      "opsa", root, {}, std::make_pair(staging + "/agent.crt", staging + "/agent.key"), staging + "/ca.crt");
  ASSERT_TRUE(opsa.ok()) << opsa.status().ToString();

  json b = CompletedBackup((*opsa)["id"].get<int64_t>());
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(Sha256OfFile(StoredFile(b)), b.value("sha256", ""));
}

// The offline path of the agent issue: `clawback instance bundle NAME --out
// DIR --data-dir D` writes a bundle with which an agent serves a backup.
TEST_F(OperatorPkiE2eTest, CliIssuedBundleServesABackup) {
  ASSERT_NO_FATAL_FAILURE(StartStack());
  auto inst = stack_->RegisterInstance("clib", "https://127.0.0.1:1");
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  const std::string bundle = stack_->tmp().Sub("cli-bundle");
  Status issued = stack_->BundleViaCli("clib", bundle);
  ASSERT_TRUE(issued.ok()) << issued.ToString();
  for (const char* f : {"ca.crt", "agent.crt", "agent.key"}) {
    EXPECT_TRUE(fs::is_regular_file(bundle + "/" + f)) << f;
  }
  EXPECT_EQ(fs::status(bundle + "/agent.key").permissions() & fs::perms::others_read, fs::perms::none)
      << "the agent key is not world-readable";

  AgentProcessOptions o;
  o.binary = AgentBinary();
  o.work_dir = stack_->tmp().path();
  o.cert = bundle + "/agent.crt";
  o.key = bundle + "/agent.key";
  o.ca = bundle + "/ca.crt";
  o.root = MakeSmallRoot(stack_->tmp().Sub("root-clib"));
  auto agent = AgentProcess::Start(o);
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  const int64_t id = (*inst)["id"].get<int64_t>();
  PlainResponse patched =
      stack_->Call("PATCH", "/api/v1/instances/" + std::to_string(id),
                   json{{"agent_url", "https://127.0.0.1:" + std::to_string((*agent)->port())}});
  ASSERT_EQ(patched.status, 200) << patched.Describe();
  bool ok = false;
  json seen = stack_->WaitInstance(
      id, [](const json& i) { return i.value("status", "") == "running"; }, 20s, &ok);
  ASSERT_TRUE(ok) << seen.dump();
  json b = CompletedBackup(id);
  EXPECT_EQ(Sha256OfFile(StoredFile(b)), b.value("sha256", ""));
}

}  // namespace
}  // namespace clawback::testing
