"""The fleet rollout kit: the Systems Manager documents in packaging/ssm, the association example and the
CloudFormation template in packaging/cloudformation.

Run: python3 -m pytest -q Tests/Kit   (needs pytest and cfn-lint: pip install pytest cfn-lint; and the built
ecsvpcd, .build/debug/ecsvpcd or $ECSVPCD_BINARY, for the template's endpoint policies: swift build)

The documents' shell scripts are run here with stand-ins for ecsvpcd, curl, dnf, apt-get and systemctl on the
PATH, so what runs on an instance is what these tests ran; nothing leaves the machine.
"""

import itertools
import json
import os
import pathlib
import re
import shutil
import stat
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SSM = ROOT / "packaging" / "ssm"
TEMPLATE = ROOT / "packaging" / "cloudformation" / "ecs-vpc-endpoints.yaml"
DOCUMENTS = {
    "rollout": SSM / "ecsvpcd-rollout.json",
    "install": SSM / "ecsvpcd-install.json",
}
ASSOCIATION = SSM / "association-example.json"
README = SSM / "README.md"

# Parameter types a Command document (schema 2.2) may declare.
PARAMETER_TYPES = {"String", "StringList", "Boolean", "Integer", "MapList", "StringMap"}
TOP_LEVEL_KEYS = {"schemaVersion", "description", "parameters", "mainSteps"}
REFERENCE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
LINUX_ONLY = {"StringEquals": ["platformType", "Linux"]}


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def template():
    from cfnlint.decode import cfn_yaml

    return cfn_yaml.load(str(TEMPLATE))


def render(document, values):
    """The step's script as the agent runs it: {{ Name }} replaced by the parameter values."""
    script = "\n".join(document["mainSteps"][0]["inputs"]["runCommand"]) + "\n"
    return REFERENCE.sub(lambda m: values[m.group(1)], script)


def fake(directory, name, body):
    path = directory / name
    path.write_text("#!/bin/bash\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def run_script(script, path, tmp_path):
    file = tmp_path / "step.sh"
    file.write_text(script)
    return subprocess.run(
        ["/bin/bash", str(file)], env={"PATH": path, "HOME": str(tmp_path), "TMPDIR": str(tmp_path)},
        capture_output=True, text=True, timeout=60,
    )


# The documents against the schema 2.2 rules


@pytest.mark.parametrize("kind", sorted(DOCUMENTS))
def test_document_is_a_schema_2_2_command_document(kind):
    document = load(DOCUMENTS[kind])
    assert set(document) <= TOP_LEVEL_KEYS, f"unknown top-level keys: {set(document) - TOP_LEVEL_KEYS}"
    assert document["schemaVersion"] == "2.2"
    assert isinstance(document["description"], str) and document["description"]
    steps = document["mainSteps"]
    assert isinstance(steps, list) and len(steps) == 1
    names = set()
    for step in steps:
        assert step["action"] == "aws:runShellScript"
        assert re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", step["name"]), step["name"]
        assert step["name"] not in names
        names.add(step["name"])
        assert step["precondition"] == LINUX_ONLY
        inputs = step["inputs"]
        assert set(inputs) <= {"runCommand", "timeoutSeconds", "workingDirectory"}
        commands = inputs["runCommand"]
        assert isinstance(commands, list) and commands and all(isinstance(c, str) for c in commands)
        assert commands[0] == "#!/bin/bash"
        assert re.fullmatch(r"[0-9]+", inputs["timeoutSeconds"]) and 1 <= int(inputs["timeoutSeconds"]) <= 172800


@pytest.mark.parametrize("kind", sorted(DOCUMENTS))
def test_document_parameters_are_typed_constrained_and_all_used(kind):
    document = load(DOCUMENTS[kind])
    parameters = document["parameters"]
    text = json.dumps(document["mainSteps"])
    referenced = set(REFERENCE.findall(text))
    assert referenced == set(parameters), f"references {referenced}, declared {set(parameters)}"
    for name, parameter in parameters.items():
        assert re.fullmatch(r"[A-Za-z0-9_]+", name)
        assert parameter["type"] in PARAMETER_TYPES
        assert parameter["description"]
        pattern = re.compile(parameter["allowedPattern"])
        assert parameter["allowedPattern"].startswith("^") and parameter["allowedPattern"].endswith("$")
        if "default" in parameter:
            assert pattern.fullmatch(parameter["default"]), f"{name}: default does not match its allowedPattern"
    # Every reference sits inside single quotes in the script, and the pattern admits no quote.
    for command in document["mainSteps"][0]["inputs"]["runCommand"]:
        for match in REFERENCE.finditer(command):
            assert command[match.start() - 1] == "'" and command[match.end()] == "'", command
    for parameter in parameters.values():
        assert not re.compile(parameter["allowedPattern"]).search("x'$(reboot)'.rpm")


@pytest.mark.parametrize("value", ["0", "90", "999", "30s", "5m", "45m", "60m", "1h"])
def test_max_wait_accepts_durations_ecsvpcd_parses(value):
    pattern = load(DOCUMENTS["rollout"])["parameters"]["MaxWait"]["allowedPattern"]
    assert re.fullmatch(pattern, value)


@pytest.mark.parametrize("value", ["", "5 m", "1d", "2h", "61m", "1000s", "5min", "-1", "1;reboot", "'5m'", "1.5m"])
def test_max_wait_rejects_everything_else(value):
    pattern = load(DOCUMENTS["rollout"])["parameters"]["MaxWait"]["allowedPattern"]
    assert not re.fullmatch(pattern, value)


@pytest.mark.parametrize("value", [
    "https://example.com/ecsvpcd/ecsvpcd-1.0.0-1.x86_64.rpm",
    "https://artifacts.example.com/ecsvpcd_1.0.0_amd64.deb",
    "s3://bucket-name/path/to/ecsvpcd-1.0.0-1.x86_64.rpm",
    "https://bucket.s3.us-east-1.amazonaws.com/ecsvpcd.rpm?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=ab%2Fcd",
])
def test_package_source_accepts_urls_and_s3_locations(value):
    pattern = load(DOCUMENTS["install"])["parameters"]["PackageSource"]["allowedPattern"]
    assert re.fullmatch(pattern, value)


@pytest.mark.parametrize("value", [
    "http://example.com/ecsvpcd.rpm", "https://example.com/ecsvpcd.tar.gz", "/tmp/ecsvpcd.rpm",
    "https://example.com/a b.rpm", "https://example.com/$(reboot).rpm", "https://example.com/x'.rpm",
    "s3://bucket/ecsvpcd.rpm;reboot",
])
def test_package_source_rejects_other_schemes_and_shell_text(value):
    pattern = load(DOCUMENTS["install"])["parameters"]["PackageSource"]["allowedPattern"]
    assert not re.fullmatch(pattern, value)


@pytest.mark.parametrize("kind", sorted(DOCUMENTS))
def test_document_script_is_valid_bash(kind, tmp_path):
    document = load(DOCUMENTS[kind])
    values = {name: p.get("default", "https://example.com/ecsvpcd.rpm") for name, p in document["parameters"].items()}
    script = tmp_path / "step.sh"
    script.write_text(render(document, values))
    subprocess.run(["/bin/bash", "-n", str(script)], check=True)
    # scripts/test installs shellcheck: its absence is a failure here, never a silent pass.
    assert shutil.which("shellcheck"), "shellcheck is not installed (apt-get install shellcheck)"
    subprocess.run(["shellcheck", "-s", "bash", "-e", "SC1091", str(script)], check=True)


# The scripts run, with stand-ins on the PATH


@pytest.mark.parametrize("code", [0, 1, 2])
def test_rollout_document_runs_rollout_and_propagates_its_exit_code(code, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake(bin_dir, "ecsvpcd", f'printf "%s\\n" "$@" > "{tmp_path}/args"; echo \'{{"result":"x"}}\'; exit {code}')
    document = load(DOCUMENTS["rollout"])
    result = run_script(render(document, {"MaxWait": "5m"}), f"{bin_dir}:/usr/bin:/bin", tmp_path)
    assert result.returncode == code, result.stderr
    assert (tmp_path / "args").read_text().split("\n")[:-1] == ["rollout", "--json", "--max-wait", "5m"]
    assert result.stdout == '{"result":"x"}\n'
    assert f"ecsvpcd rollout exited {code}" in result.stderr


def test_rollout_document_without_ecsvpcd_exits_127(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    document = load(DOCUMENTS["rollout"])
    result = run_script(render(document, {"MaxWait": "0"}), str(empty), tmp_path)
    assert result.returncode == 127
    assert "ecsvpcd is not installed" in result.stderr


def install_fakes(tmp_path, manager):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    fake(bin_dir, "curl", f'echo "curl $*" >> {log}; while [ $# -gt 0 ]; do [ "$1" = -o ] && echo package > "$2"; shift; done')
    fake(bin_dir, "aws", f'echo "aws $*" >> {log}; echo package > "${{@: -1}}"')
    # The package manager installs (records the version rpm -q then finds), unless a newer one is installed: then,
    # like dnf, "install" of an older file does nothing and only "downgrade" installs it.
    installed = tmp_path / "installed"
    fake(bin_dir, manager, f'echo "{manager} $*" >> {log}; for a; do [ -f "$a" ] && echo "file $a" >> {log}; done; '
         f'if [ "$1" = downgrade ] || [ ! -e {tmp_path}/newer-installed ]; then echo ecsvpcd-1.0.0-1.x86_64 > {installed}; fi; exit 0')
    fake(bin_dir, "rpm", f'case "$1" in -qp) echo ecsvpcd-1.0.0-1.x86_64 ;; '
         f'-q) [ "$2" = ecsvpcd ] && {{ cat {installed} 2>/dev/null || echo "package ecsvpcd is not installed"; exit 0; }}; '
         f'grep -qx "$2" {installed} 2>/dev/null ;; *) exit 0 ;; esac')
    fake(bin_dir, "ecsvpcd", 'echo "ecsvpcd 1.0.0"')
    fake(bin_dir, "systemctl", f'echo "systemctl $*" >> {log}; [ "$1" = is-active ] && echo active')
    if manager != "dnf":
        fake(bin_dir, "dnf", "exit 99")  # must not be taken for a .deb
    return bin_dir, log


@pytest.mark.parametrize("source,manager", [
    ("https://example.com/dist/ecsvpcd-1.0.0-1.x86_64.rpm", "dnf"),
    ("https://example.com/dist/ecsvpcd-1.0.0-1.x86_64.rpm?X-Amz-Signature=abc&X-Amz-Expires=60", "dnf"),
    ("s3://artifacts/ecsvpcd/ecsvpcd_1.0.0_amd64.deb", "apt-get"),
])
def test_install_document_fetches_and_installs_the_package(source, manager, tmp_path):
    bin_dir, log = install_fakes(tmp_path, manager)
    document = load(DOCUMENTS["install"])
    result = run_script(render(document, {"PackageSource": source}), f"{bin_dir}:/usr/bin:/bin", tmp_path)
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    name = source.split("?")[0].rsplit("/", 1)[1]
    fetch = "aws s3 cp" if source.startswith("s3://") else "curl -fsSL"
    assert calls[0].startswith(fetch) and source in calls[0], calls
    options = (" --allow-downgrades -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"
               if manager == "apt-get" else "")
    assert re.fullmatch(rf"{manager} install -y{re.escape(options)} /\S+/{re.escape(name)}", calls[1]), calls
    assert calls[2].startswith("file /") and calls[2].endswith("/" + name), "the package file was there"
    assert calls[3] == "systemctl is-active ecsvpcd"
    assert "ecsvpcd 1.0.0" in result.stdout


def install_rpm_over(tmp_path, marker, content):
    """Runs the install document on ecsvpcd-1.0.0-1.x86_64.rpm with the fakes' state file `marker` holding
    `content`; returns the result and the dnf calls."""
    bin_dir, log = install_fakes(tmp_path, "dnf")
    (tmp_path / marker).write_text(content)
    document = load(DOCUMENTS["install"])
    source = "https://example.com/dist/ecsvpcd-1.0.0-1.x86_64.rpm"
    result = run_script(render(document, {"PackageSource": source}), f"{bin_dir}:/usr/bin:/bin", tmp_path)
    assert result.returncode == 0, result.stderr
    return result, [c for c in log.read_text().splitlines() if c.startswith("dnf ")]


def test_install_document_rolls_back_to_an_older_rpm(tmp_path):
    # dnf install of an older file than the installed one does nothing and exits 0: the document downgrades.
    _, calls = install_rpm_over(tmp_path, "newer-installed", "")
    assert [c.split()[1] for c in calls] == ["install", "downgrade"], calls


def test_install_document_skips_a_package_already_installed(tmp_path):
    result, calls = install_rpm_over(tmp_path, "installed", "ecsvpcd-1.0.0-1.x86_64\n")
    assert "ecsvpcd-1.0.0-1.x86_64 is already installed" in result.stdout
    assert not calls


def test_install_document_fails_when_the_service_is_not_active(tmp_path):
    bin_dir, _ = install_fakes(tmp_path, "dnf")
    fake(bin_dir, "systemctl", '[ "$1" = is-active ] && { echo failed; exit 3; }; echo "status"')
    document = load(DOCUMENTS["install"])
    result = run_script(render(document, {"PackageSource": "https://example.com/ecsvpcd.rpm"}), f"{bin_dir}:/usr/bin:/bin", tmp_path)
    assert result.returncode == 1


# The association example


def test_association_example_is_valid_create_association_input():
    from botocore.session import Session
    from botocore.validate import ParamValidator

    association = load(ASSOCIATION)
    shape = Session().get_service_model("ssm").operation_model("CreateAssociation").input_shape
    report = ParamValidator().validate(association, shape)
    assert not report.has_errors(), report.generate_report()
    assert association["Name"] == "ecsvpcd-install"
    assert association["Targets"] == [{"Key": "tag:Role", "Values": ["ecs"]}]
    assert association["MaxConcurrency"] == "10%" and association["MaxErrors"] == "1%"
    parameters = load(DOCUMENTS["install"])["parameters"]
    assert set(association["Parameters"]) <= set(parameters)
    required = {name for name, p in parameters.items() if "default" not in p}
    assert required <= set(association["Parameters"])
    for name, values in association["Parameters"].items():
        for value in values:
            assert re.fullmatch(parameters[name]["allowedPattern"], value), (name, value)


# The CloudFormation template


def test_template_passes_cfn_lint():
    command = [shutil.which("cfn-lint")] if shutil.which("cfn-lint") else [sys.executable, "-m", "cfnlint"]
    result = subprocess.run(command + [str(TEMPLATE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_template_creates_the_endpoints_in_the_documented_order():
    resources = template()["Resources"]
    endpoints = {
        name: r for name, r in resources.items() if isinstance(r, dict) and r.get("Type") == "AWS::EC2::VPCEndpoint"
    }
    by_service = {}
    for name, resource in endpoints.items():
        service = resource["Properties"]["ServiceName"]["Fn::Sub"]
        assert service.startswith("com.amazonaws.${AWS::Region}.")
        by_service[service.removeprefix("com.amazonaws.${AWS::Region}.")] = name
    assert set(by_service) == {"ecs-agent", "ecs-telemetry", "ecs"} | set(RELATED_SERVICES.values())
    for service in ["ecs-agent", "ecs-telemetry", "ecs"]:
        assert "Condition" not in resources[by_service[service]], "the ECS endpoints are always created"

    def depends(name):
        value = resources[name].get("DependsOn", [])
        return {value} if isinstance(value, str) else set(value)

    agent, telemetry, ecs = by_service["ecs-agent"], by_service["ecs-telemetry"], by_service["ecs"]
    assert depends(agent) & set(endpoints) == set()
    assert depends(telemetry) & set(endpoints) == {agent}
    assert depends(ecs) & set(endpoints) == {telemetry}


# The related endpoints: one parameter per group, the S3 gateway endpoint by route tables

RELATED_SERVICES = {
    "S3GatewayEndpoint": "s3", "EcrApiEndpoint": "ecr.api", "EcrDkrEndpoint": "ecr.dkr", "LogsEndpoint": "logs",
    "SecretsManagerEndpoint": "secretsmanager", "SsmEndpoint": "ssm", "SsmMessagesEndpoint": "ssmmessages",
    "Ec2MessagesEndpoint": "ec2messages",
}
GROUPS = ["CreateEcrEndpoints", "CreateLogsEndpoint", "CreateSecretsEndpoints", "CreateSsmEndpoints"]


def parameter_values(loaded, given):
    """Every parameter's value as CloudFormation passes it: the given ones, else the defaults."""
    values = {}
    for name, parameter in loaded["Parameters"].items():
        value = given.get(name, parameter.get("Default"))
        if parameter["Type"] == "CommaDelimitedList" and isinstance(value, str):
            value = value.split(",")
        values[name] = value
    return values


def evaluate(expression, values, conditions):
    """Evaluates the condition functions the template uses (Fn::Equals/Or/And/Not/Join, Condition, Ref)."""
    if isinstance(expression, (str, bool)):
        return expression
    if isinstance(expression, list):
        return [evaluate(e, values, conditions) for e in expression]
    ((function, argument),) = expression.items()
    if function == "Ref":
        return values[argument]
    if function == "Condition":
        return evaluate(conditions[argument], values, conditions)
    if function == "Fn::Equals":
        first, second = evaluate(argument, values, conditions)
        return first == second
    if function == "Fn::Or":
        return any(evaluate(argument, values, conditions))
    if function == "Fn::And":
        return all(evaluate(argument, values, conditions))
    if function == "Fn::Not":
        return not evaluate(argument[0], values, conditions)
    if function == "Fn::Join":
        separator, items = argument
        return separator.join(evaluate(items, values, conditions))
    raise AssertionError(f"condition function {function} is not known to this test")


def created(given):
    """The resources and outputs a stack with these parameters creates."""
    loaded = template()
    values = parameter_values(loaded, given)
    conditions = loaded["Conditions"]
    holds = {name: evaluate(expression, values, conditions) for name, expression in conditions.items()}
    resources = {
        name: r for name, r in loaded["Resources"].items()
        if not name.startswith("Fn::ForEach::") and holds.get(r.get("Condition"), True)
    }
    outputs = {name: o for name, o in loaded["Outputs"].items() if holds.get(o.get("Condition"), True)}
    return resources, outputs, holds


COMBINATIONS = list(itertools.product(["true", "false"], repeat=4))
ROUTE_TABLES = ["", "rtb-0123456789abcdef0,rtb-0fedcba9876543210"]


@pytest.mark.parametrize("route_tables", ROUTE_TABLES, ids=["no-s3", "s3"])
@pytest.mark.parametrize("groups", COMBINATIONS, ids=["-".join(c) for c in COMBINATIONS])
def test_template_creates_the_related_endpoints_each_combination_asks_for(groups, route_tables):
    given = dict(zip(GROUPS, groups))
    given["S3GatewayRouteTableIds"] = route_tables
    resources, outputs, _ = created(given)
    ecr, logs, secrets, ssm = (value == "true" for value in groups)
    expected = set()
    if route_tables:
        expected.add("s3")
    if ecr:
        expected |= {"ecr.api", "ecr.dkr"}
    if logs:
        expected.add("logs")
    if secrets:
        expected |= {"secretsmanager", "ssm"}
    if ssm:
        expected |= {"ssm", "ssmmessages", "ec2messages"}
    services = [
        r["Properties"]["ServiceName"]["Fn::Sub"].removeprefix("com.amazonaws.${AWS::Region}.")
        for r in resources.values() if r["Type"] == "AWS::EC2::VPCEndpoint"
    ]
    assert len(services) == len(set(services)), f"an endpoint created twice: {sorted(services)}"
    assert set(services) == {"ecs-agent", "ecs-telemetry", "ecs"} | expected
    # Nothing created depends on, or is referred to by an output, that is not created.
    for name, resource in resources.items():
        depends = resource.get("DependsOn", [])
        for target in [depends] if isinstance(depends, str) else depends:
            assert target in resources, f"{name} depends on {target}, which this combination does not create"
    for name, output in outputs.items():
        reference = output["Value"].get("Ref") or output["Value"].get("Fn::GetAtt", [None])[0]
        assert reference in resources, f"output {name} refers to {reference}, which is not created"
    assert {RELATED_SERVICES[n] for n in resources if n in RELATED_SERVICES} == expected


def test_template_related_endpoints_share_the_security_group_and_private_dns():
    resources = template()["Resources"]
    for name, service in RELATED_SERVICES.items():
        properties = resources[name]["Properties"]
        assert properties["VpcId"] == {"Ref": "VpcId"}
        if service == "s3":
            assert properties["VpcEndpointType"] == "Gateway"
            assert properties["RouteTableIds"] == {"Ref": "S3GatewayRouteTableIds"}
            assert "SecurityGroupIds" not in properties and "PrivateDnsEnabled" not in properties
            continue
        assert properties["VpcEndpointType"] == "Interface"
        assert properties["PrivateDnsEnabled"] is True
        assert properties["SubnetIds"] == {"Ref": "SubnetIds"}
        assert properties["SecurityGroupIds"] == [{"Ref": "EndpointSecurityGroup"}]


def test_template_creates_ecr_dkr_only_after_the_s3_gateway_endpoint():
    resources = template()["Resources"]
    depends = resources["EcrDkrEndpoint"]["DependsOn"]
    assert "S3Ready" in ([depends] if isinstance(depends, str) else depends)
    ready = resources["S3Ready"]
    assert "Condition" not in ready, "S3Ready exists in every combination, so that ecr.dkr can always depend on it"
    condition, then, otherwise = ready["Metadata"]["S3GatewayEndpoint"]["Fn::If"]
    assert condition == "WithS3" and then == {"Ref": "S3GatewayEndpoint"} and otherwise == "none"
    assert resources["S3GatewayEndpoint"]["Condition"] == "WithS3"


# The template's endpoint policies, checked by the built ecsvpcd (scripts/test builds it first)


def ecsvpcd_binary():
    path = os.environ.get("ECSVPCD_BINARY") or str(ROOT / ".build" / "debug" / "ecsvpcd")
    assert os.access(path, os.X_OK), f"{path} is not built: run swift build (or set ECSVPCD_BINARY)"
    return path


def policy_check(policy, *arguments):
    return subprocess.run(
        [ecsvpcd_binary(), "policy", "check", "--json", *arguments, "-"], input=json.dumps(policy),
        capture_output=True, text=True, timeout=60,
    )


def template_policies():
    """Every endpoint policy the template can attach: (resource, endpoint service, policy, condition)."""
    policies = []
    for name, resource in template()["Resources"].items():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::EC2::VPCEndpoint":
            continue
        document = resource["Properties"].get("PolicyDocument")
        if document is None:
            continue
        service = resource["Properties"]["ServiceName"]["Fn::Sub"].removeprefix("com.amazonaws.${AWS::Region}.")
        if "Fn::If" in document:
            condition, then, otherwise = document["Fn::If"]
            assert otherwise == {"Ref": "AWS::NoValue"}
            policies.append((name, service, json.loads(json.dumps(then)), condition))
        else:
            policies.append((name, service, json.loads(json.dumps(document)), None))
    return policies


def test_template_has_endpoint_policies_for_the_agent_endpoints():
    assert {(name, service, condition) for name, service, _, condition in template_policies()} == {
        ("EcsAgentEndpoint", "ecs-agent", "WithAgentOnlyPolicies"),
        ("EcsTelemetryEndpoint", "ecs-telemetry", "WithAgentOnlyPolicies"),
    }


@pytest.mark.parametrize("name,service,policy,condition", template_policies(), ids=lambda v: v if isinstance(v, str) else "")
def test_template_endpoint_policies_pass_ecsvpcd_policy_check(name, service, policy, condition):
    result = policy_check(policy, "--endpoint", service)
    assert result.returncode == 0, f"{name}: {result.stdout}{result.stderr}"
    document = json.loads(result.stdout)
    assert document["result"] == "allowed"
    assert document["warnings"] == [], "the PrivateLink guide requires a Principal"
    assert {call["endpoint"] for call in document["calls"]} == {service}
    # The check is not blind: the same policy on another ECS endpoint denies the agent there.
    other = "ecs-telemetry" if service == "ecs-agent" else "ecs-agent"
    assert policy_check(policy, "--endpoint", other).returncode == 2
    assert len(json.dumps(policy, indent=2)) <= 20480


@pytest.mark.parametrize("agent_only", ["true", "false"])
def test_template_attaches_the_agent_only_policies_only_when_asked(agent_only):
    resources, _, holds = created({"AgentOnlyEndpointPolicies": agent_only})
    for name in ["EcsAgentEndpoint", "EcsTelemetryEndpoint", "EcsEndpoint"]:
        document = resources[name]["Properties"].get("PolicyDocument")
        if document is not None:
            condition, then, otherwise = document["Fn::If"]
            document = then if holds[condition] else otherwise
        attached = document is not None and document != {"Ref": "AWS::NoValue"}
        assert attached == (agent_only == "true" and name != "EcsEndpoint"), name


def test_readme_lists_the_calls_policy_check_evaluates():
    """The README's table of the agent's calls (copied to DESIGN.md) is the list the binary checks."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Endpoint policies: the agent's calls", 1)[1].split("\n## ", 1)[0]
    listed = {}
    for line in section.splitlines():
        if line.startswith("| `ecs:"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            for action in re.findall(r"`(ecs:[A-Za-z]+)`", cells[0]):
                listed[action] = cells[1]
    default = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}
    calls = json.loads(policy_check(default).stdout)["calls"]
    assert listed == {call["action"]: call["endpoint"] for call in calls}


def test_aws_default_endpoint_policy_passes_and_aws_ecs_example_denies_the_agent():
    default = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}
    assert policy_check(default).returncode == 0
    example = {"Statement": [{"Effect": "Allow", "Action": ["ecs:CreateCluster", "ecs:ListClusters"], "Resource": ["*"]}]}
    result = policy_check(example)
    assert result.returncode == 2, result.stdout
    denied = {c["action"] for c in json.loads(result.stdout)["calls"] if c["result"] == "denied"}
    assert {"ecs:RegisterContainerInstance", "ecs:DiscoverPollEndpoint", "ecs:Poll", "ecs:StartTelemetrySession"} <= denied


def test_template_allows_443_from_the_given_cidrs_only():
    loaded = template()
    parameters = loaded["Parameters"]
    assert parameters["VpcId"]["Type"] == "AWS::EC2::VPC::Id"
    assert parameters["SubnetIds"]["Type"] == "List<AWS::EC2::Subnet::Id>"
    assert parameters["AllowedCidrs"]["Type"] == "CommaDelimitedList"
    resources = loaded["Resources"]
    group = resources["EndpointSecurityGroup"]
    assert group["Type"] == "AWS::EC2::SecurityGroup"
    assert "SecurityGroupIngress" not in group["Properties"]
    loops = [value for key, value in resources.items() if key.startswith("Fn::ForEach::")]
    assert len(loops) == 1
    variable, collection, body = loops[0]
    assert collection == {"Ref": "AllowedCidrs"}
    (rule,) = body.values()
    assert rule["Type"] == "AWS::EC2::SecurityGroupIngress"
    assert rule["Properties"] == {
        "GroupId": {"Fn::GetAtt": ["EndpointSecurityGroup", "GroupId"]},
        "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": {"Ref": variable},
        "Description": rule["Properties"]["Description"],
    }
    assert "AWS::LanguageExtensions" in (loaded["Transform"] if isinstance(loaded["Transform"], list) else [loaded["Transform"]])


@pytest.mark.parametrize("resource,kind", [("RolloutDocument", "rollout"), ("InstallDocument", "install")])
def test_template_documents_equal_the_json_files(resource, kind):
    loaded = template()
    document = loaded["Resources"][resource]
    assert document["Type"] == "AWS::SSM::Document"
    assert document["Condition"] in loaded["Conditions"]
    properties = document["Properties"]
    assert properties["DocumentType"] == "Command"
    assert properties["Name"] == {"Fn::Sub": "${DocumentNamePrefix}-" + kind}
    content = json.loads(json.dumps(properties["Content"]))
    assert content == load(DOCUMENTS[kind]), (
        f"the template's {resource} differs from {DOCUMENTS[kind].relative_to(ROOT)}: "
        "run packaging/cloudformation/sync-ssm-documents"
    )


# The README section


def test_readme_creates_the_endpoints_in_order_and_sends_the_rollout_with_rate_control():
    text = README.read_text()
    creates = [m.group(1) for m in re.finditer(r"--service-name com\.amazonaws\.\S+\.(ecs(?:-agent|-telemetry)?)\b", text)]
    assert creates[:3] == ["ecs-agent", "ecs-telemetry", "ecs"]
    for needed in ["--vpc-endpoint-type Interface", "--private-dns-enabled", "--security-group-ids", "--subnet-ids",
                   "aws ssm send-command", "--document-name ecsvpcd-rollout", "Key=tag:Role,Values=ecs",
                   "Key=tag:aws:autoscaling:groupName,Values=", "--max-concurrency 10%", "--max-errors 1%",
                   "aws ssm list-command-invocations", "--details", "ECSVPCD_RESTART_WINDOW"]:
        assert needed in text, needed
