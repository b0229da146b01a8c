"""What template.yaml promises: security defaults, least privilege, routing, packaging."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from medialens.chatbot import dialog as chatbot
from medialens.chatbot.settings import ChatbotSettings
from medialens.images.settings import ImageAnalysisSettings
from medialens.video.settings import VideoSettings
from medialens.webchat.site import PAGE_FILES

from scripts.layer_requirements import TARGET, render
from tests.support.stack import (
    ROOT,
    as_list,
    function_environment,
    resource,
    role_of,
    statements_of,
    template,
)

FUNCTIONS = {
    "AnalyzeMediaFunction": "analyze_media",
    "AnalyzeImageBytesFunction": "analyze_image_bytes",
    "VideoResultsFunction": "video_results",
    "VideoSweeperFunction": "video_sweeper",
    "ChatbotFunction": "chatbot",
    "VerifyTransformFunction": "verify_transform",
    "PublishSuggestionsFunction": "publish_suggestions",
    "WorkflowArtifactsFunction": "workflow_artifacts",
    "ForgetPersonFunction": "forget_person",
    "ServiceLogRetentionFunction": "service_log_retention",
    "WebChatSiteFunction": "web_chat_site",
    "SuggesterEndpointCleanupFunction": "suggester_endpoint",
}
# Where each function may write objects (the rest of the bucket is others' or media).
WRITES_UNDER = {
    "VerifyTransformFunction": ("/transforms/",),
    "PublishSuggestionsFunction": ("/models/",),
    "WorkflowArtifactsFunction": ("/jobs/", "/emr-tls/"),
    "ForgetPersonFunction": ("/results/", "/${FacesPrefix}"),
    # The page's own bucket, not the media bucket.
    "WebChatSiteFunction": ("${WebChatBucket.Arn}/",),
}
# Files a function carries from elsewhere in the repository (sam build copies them in).
BUNDLED = {
    "publish_suggestions": {"inference.py": "sagemaker_models/label_suggester/code/inference.py"},
    "workflow_artifacts": {
        "label_mining.py": "jobs/label_mining.py",
        "emr_bootstrap.sh": "jobs/emr_bootstrap.sh",
        "requirements-emr.txt": "jobs/requirements-emr.txt",
    },
    "web_chat_site": {name: f"web/{name}" for name in PAGE_FILES},
}
VIDEO_API_NAMES = (
    "LabelDetection",
    "TextDetection",
    "FaceDetection",
    "ContentModeration",
    "SegmentDetection",
    "CelebrityRecognition",
    "PersonTracking",
)


def resources_of(kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template()["Resources"].items() if v["Type"] == kind}


def test_media_bucket_is_private_encrypted_versioned_and_tls_only() -> None:
    properties = resource("MediaBucket")["Properties"]
    assert all(properties["PublicAccessBlockConfiguration"].values())
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert properties["VersioningConfiguration"]["Status"] == "Enabled"
    tls, *boundaries = resource("MediaBucketPolicy")["Properties"]["PolicyDocument"]["Statement"]
    assert (tls["Effect"], tls["Action"]) == ("Deny", "s3:*")
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # The rest keep prefixes apart (tests/contract/test_trust_boundaries.py); none allows.
    assert "Allow" not in str(boundaries)


def test_every_store_and_topic_is_encrypted() -> None:
    for name, table in resources_of("AWS::DynamoDB::Table").items():
        assert table["Properties"]["SSESpecification"]["SSEEnabled"], name
    for name, topic in resources_of("AWS::SNS::Topic").items():
        assert topic["Properties"]["KmsMasterKeyId"], name
    for name, queue in resources_of("AWS::SQS::Queue").items():
        assert queue["Properties"]["SqsManagedSseEnabled"], name


def test_functions_have_explicit_roles_so_sam_attaches_no_broad_managed_policy() -> None:
    for function in FUNCTIONS:
        properties = resource(function)["Properties"]
        assert "Policies" not in properties
        assert "Role" in properties
        assert not any(
            "arn:aws:iam::aws:policy" in str(arn)
            for arn in role_of(function)["Properties"]["ManagedPolicyArns"]
        )


def test_every_function_of_the_template_is_held_to_these_rules() -> None:
    assert set(FUNCTIONS) == set(resources_of("AWS::Serverless::Function"))


def test_each_function_may_write_only_its_own_log_group() -> None:
    for function in FUNCTIONS:
        log_group = resource(function)["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        log_statements = [
            s
            for s in statements_of(function)
            if {"logs:PutLogEvents", "logs:CreateLogStream"} & set(as_list(s["Action"]))
        ]
        assert [s["Resource"] for s in log_statements] == [{"Fn::GetAtt": [log_group, "Arn"]}]


def test_wildcard_resources_only_for_actions_that_accept_no_resource() -> None:
    no_resource_type = {
        "rekognition:DetectLabels",
        "rekognition:DetectText",
        "rekognition:DetectFaces",
        "rekognition:DetectModerationLabels",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        # Rekognition Video's Start and Get actions take no resource, except the face
        # search ones, which name the collection.
        *(f"rekognition:Start{name}" for name in VIDEO_API_NAMES),
        *(f"rekognition:Get{name}" for name in VIDEO_API_NAMES),
        "rekognition:GetFaceSearch",
    }
    for function in FUNCTIONS:
        for statement in statements_of(function):
            actions = set(as_list(statement["Action"]))
            assert not any(action.endswith(":*") for action in actions), statement
            if "*" in as_list(statement["Resource"]):
                assert actions <= no_resource_type, statement


def test_functions_may_write_only_under_their_own_prefix() -> None:
    for function in FUNCTIONS:
        for statement in statements_of(function):
            if {"s3:PutObject", "s3:DeleteObject"} & set(as_list(statement["Action"])):
                for arn in as_list(statement["Resource"]):
                    prefixes = WRITES_UNDER.get(function, ("/results/",))
                    assert any(prefix in arn["Fn::Sub"] for prefix in prefixes), arn


@pytest.mark.parametrize("function", ["VideoResultsFunction"])
def test_async_failures_can_reach_the_queue(function: str) -> None:
    destination = resource(function)["Properties"]["EventInvokeConfig"]
    queue = destination["DestinationConfig"]["OnFailure"]["Destination"]
    granted = [
        s["Resource"] for s in statements_of(function) if "sqs:SendMessage" in as_list(s["Action"])
    ]
    assert queue in granted


def test_rekognition_may_publish_only_to_the_video_topic_and_only_for_this_account() -> None:
    role = resource("RekognitionVideoRole")["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "rekognition.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    [policy] = role["Policies"]
    publish, encrypt = policy["PolicyDocument"]["Statement"]
    assert publish["Resource"] == {"Ref": "VideoJobsTopic"}
    topic_key = resource("VideoJobsTopic")["Properties"]["KmsMasterKeyId"]["Ref"]
    assert encrypt["Resource"] == {"Fn::GetAtt": [topic_key, "Arn"]}


def test_only_rekognition_receives_the_video_role() -> None:
    for function in FUNCTIONS:
        for statement in statements_of(function):
            if "iam:PassRole" in as_list(statement["Action"]):
                assert statement["Resource"] == {"Fn::GetAtt": ["RekognitionVideoRole", "Arn"]}
                assert statement["Condition"] == {
                    "StringEquals": {"iam:PassedToService": "rekognition.amazonaws.com"}
                }


def test_completion_messages_and_hand_overs_reach_the_results_function() -> None:
    events = resource("VideoResultsFunction")["Properties"]["Events"]
    assert events["JobCompleted"]["Properties"]["Topic"] == {"Ref": "VideoJobsTopic"}
    queue = events["CollectionHandedOver"]["Properties"]["Queue"]
    assert queue == {"Fn::GetAtt": ["VideoContinuationQueue", "Arn"]}
    redrive = resource("VideoContinuationQueue")["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["AnalysisFailuresQueue", "Arn"]}


def test_the_template_environment_parses_into_settings() -> None:
    settings = ImageAnalysisSettings.from_env(function_environment({}))
    video = VideoSettings.from_env(function_environment({}))

    assert settings.features.moderation
    assert settings.results_prefix == "results/"
    assert "LABEL_DETECTION" in video.enabled_apis
    assert "CELEBRITY_RECOGNITION" not in video.enabled_apis


@pytest.mark.parametrize(("logical_id", "directory"), FUNCTIONS.items())
def test_each_function_ships_only_its_small_handler(logical_id: str, directory: str) -> None:
    properties = resource(logical_id)["Properties"]
    code = ROOT / properties["CodeUri"]
    assert code == ROOT / "functions" / directory
    files = [p for p in code.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert sorted(p.relative_to(code).as_posix() for p in files) == sorted(
        ["handler.py", *(f"bundle/{name}" for name in BUNDLED.get(directory, {}))]
    )
    assert sum(p.stat().st_size for p in files) < 50 * 1024
    globals_ = template()["Globals"]["Function"]
    assert globals_["Runtime"] == "python3.13"
    assert globals_["Architectures"] == ["arm64"]


@pytest.mark.parametrize(("directory", "bundled"), BUNDLED.items())
def test_bundled_files_are_links_to_the_repositorys_own(
    directory: str, bundled: dict[str, str]
) -> None:
    """One copy of the job and the inference code: the function's files link to them."""
    for name, source in bundled.items():
        link = ROOT / "functions" / directory / "bundle" / name
        assert link.is_symlink(), link
        assert link.resolve() == (ROOT / source).resolve()


def test_the_layer_is_built_by_sam_for_the_runtime() -> None:
    layer = resource("MedialensLayer")
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}
    assert Path(ROOT / layer["Properties"]["ContentUri"], "medialens", "__init__.py").exists()


def test_layer_requirements_are_generated_from_pyproject() -> None:
    assert TARGET.read_text() == render()


# ---------------------------------------------------------------- chatbot


def bot_locale() -> dict[str, Any]:
    [locale] = resource("MediaBot")["Properties"]["BotLocales"]
    assert locale["LocaleId"] == "en_US"
    return dict(locale)


def versioned_bot_properties() -> dict[str, Any]:
    """What a bot version snapshots: every bot property but the test alias's settings.

    DescribeBotVersion returns the version's own role, data privacy and idle session
    TTL besides its locales; the test alias always runs DRAFT and is not versioned.
    """
    properties = dict(resource("MediaBot")["Properties"])
    properties.pop("TestBotAliasSettings")
    return properties


def test_a_bot_change_publishes_a_new_version() -> None:
    # AWS::Lex::BotVersion has no update handler, and Lex returns the last version when
    # DRAFT is unchanged: only a new logical id publishes a changed bot.
    digest = hashlib.sha256(
        json.dumps(versioned_bot_properties(), sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()[:8]
    [version] = resources_of("AWS::Lex::BotVersion")
    assert version == f"MediaBotVersion{digest}", "rename the BotVersion after a bot change"
    alias = resource("MediaBotAlias")["Properties"]
    assert alias["BotVersion"] == {"Fn::GetAtt": [version, "BotVersion"]}


def test_every_intent_of_the_bot_has_a_handler_and_every_handler_an_intent() -> None:
    intents = {intent["Name"] for intent in bot_locale()["Intents"]}
    assert intents == set(chatbot.INTENT_HANDLERS)
    fallback = next(i for i in bot_locale()["Intents"] if i["Name"] == chatbot.FALLBACK)
    assert fallback["ParentIntentSignature"] == "AMAZON.FallbackIntent"


def test_utterances_name_only_their_intents_slots_and_slot_types_exist() -> None:
    locale = bot_locale()
    slot_types = {slot_type["Name"] for slot_type in locale["SlotTypes"]}
    for intent in locale["Intents"]:
        slots = {slot["Name"]: slot for slot in intent.get("Slots", [])}
        for utterance in intent.get("SampleUtterances", []):
            for name in re.findall(r"\{(\w+)\}", utterance["Utterance"]):
                assert name in slots, (intent["Name"], utterance)
        for slot in slots.values():
            assert slot["SlotTypeName"] in slot_types or slot["SlotTypeName"].startswith("AMAZON.")
        priorities = {p["SlotName"] for p in intent.get("SlotPriorities", [])}
        assert priorities == set(slots), intent["Name"]


def test_the_code_hook_checks_the_slots_the_dialog_fills() -> None:
    hooks = {
        intent["Name"]: (
            intent.get("DialogCodeHook", {}).get("Enabled", False),
            intent.get("FulfillmentCodeHook", {}).get("Enabled", False),
        )
        for intent in bot_locale()["Intents"]
    }
    assert all(fulfilment for _, fulfilment in hooks.values())
    for intent in bot_locale()["Intents"]:
        if intent.get("Slots"):
            assert hooks[intent["Name"]][0], f"{intent['Name']} has slots but no dialog hook"


def test_only_the_live_alias_calls_the_chatbot_function_and_both_log_conversations() -> None:
    function_arn = {"Fn::GetAtt": ["ChatbotFunction", "Arn"]}
    bot = resource("MediaBot")["Properties"]
    live, test = resource("MediaBotAlias")["Properties"], bot["TestBotAliasSettings"]
    [live_locale] = live["BotAliasLocaleSettings"]
    hook = live_locale["BotAliasLocaleSetting"]["CodeHookSpecification"]["LambdaCodeHook"]
    assert hook == {"CodeHookInterfaceVersion": "1.0", "LambdaArn": function_arn}
    # The console's test alias reaches no data: it has no code hook at all.
    [test_locale] = test["BotAliasLocaleSettings"]
    assert "CodeHookSpecification" not in test_locale["BotAliasLocaleSetting"]
    for settings in (live, test):
        [text_log] = settings["ConversationLogSettings"]["TextLogSettings"]
        assert text_log["Enabled"]
        destination = text_log["Destination"]["CloudWatch"]["CloudWatchLogGroupArn"]
        assert destination == {"Fn::GetAtt": ["BotConversationLogGroup", "Arn"]}
    bot_role = resource("BotRole")["Properties"]
    [trust] = bot_role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "lexv2.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    [policy] = bot_role["Policies"]
    logs = [s for s in policy["PolicyDocument"]["Statement"] if s["Sid"] == "ConversationLogs"]
    assert [s["Resource"] for s in logs] == [{"Fn::GetAtt": ["BotConversationLogGroup", "Arn"]}]


def test_only_the_live_alias_may_invoke_the_code_hook() -> None:
    permission = resource("ChatbotInvokePermission")["Properties"]
    assert permission["Principal"] == "lexv2.amazonaws.com"
    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert permission["SourceArn"] == {"Fn::GetAtt": ["MediaBotAlias", "Arn"]}


def test_only_this_accounts_principals_may_talk_to_the_live_alias() -> None:
    policy = resource("MediaBotAliasPolicy")["Properties"]
    assert policy["ResourceArn"] == {"Fn::GetAtt": ["MediaBotAlias", "Arn"]}
    [statement] = policy["Policy"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {
        "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    }
    assert statement["Resource"] == policy["ResourceArn"]
    assert all(action.startswith("lex:") for action in statement["Action"])


def test_conversation_logs_are_encrypted_with_a_key_only_for_them() -> None:
    group = resource("BotConversationLogGroup")["Properties"]
    assert group["KmsKeyId"] == {"Fn::GetAtt": ["ConversationLogsKey", "Arn"]}
    key = resource("ConversationLogsKey")["Properties"]
    assert key["EnableKeyRotation"] is True
    [logs] = [s for s in key["KeyPolicy"]["Statement"] if "Service" in s["Principal"]]
    context = logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]["Fn::Sub"]
    assert context.endswith(":log-group:" + group["LogGroupName"]["Fn::Sub"])


def test_person_and_file_name_slots_are_obfuscated_in_conversation_logs() -> None:
    slots = {
        slot["Name"]: slot for intent in bot_locale()["Intents"] for slot in intent.get("Slots", [])
    }
    for name in ("Person", "FileName"):
        assert slots[name]["ObfuscationSetting"] == {"ObfuscationSettingType": "DefaultObfuscation"}


def test_the_chatbot_only_reads() -> None:
    actions = {a for s in statements_of("ChatbotFunction") for a in as_list(s["Action"])}
    writes = {a for a in actions if not a.startswith(("logs:", "xray:"))} - {
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "s3:GetObject",
        "s3:GetObjectVersion",
    }
    assert writes == set()


def test_the_chatbot_environment_parses_into_settings() -> None:
    settings = ChatbotSettings.from_env(function_environment({}, "ChatbotFunction"))
    parameters = template()["Parameters"]
    assert settings.page_size == parameters["ChatPageSize"]["Default"]
    assert settings.link_expiry_s == parameters["ChatLinkExpirySeconds"]["Default"]


# ---------------------------------------------------------------- ML workflows

WORKFLOW_ROLES = {
    "LabelMiningStateMachine": "LabelMiningWorkflowRole",
    "BatchTransformStateMachine": "BatchTransformWorkflowRole",
    "PipelineStateMachine": "PipelineWorkflowRole",
    "BackfillStateMachine": "BackfillRole",
    "DeploySuggesterStateMachine": "DeploySuggesterWorkflowRole",
}
NO_RESOURCE_TYPE = {
    "elasticmapreduce:RunJobFlow",
    "sagemaker:ListTags",
    "ecr:GetAuthorizationToken",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchCheckLayerAvailability",
    "cloudwatch:PutMetricData",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "elasticmapreduce:DescribeCluster",
    "elasticmapreduce:ListBootstrapActions",
    "elasticmapreduce:ListInstanceGroups",
    "elasticmapreduce:ListInstances",
    "elasticmapreduce:ListSteps",
    "ec2:DescribeTags",
    "ec2:DescribeInstances",
}


def role_statements(logical_id: str) -> list[dict[str, Any]]:
    """The role's inline statements; a conditional one as it is when its condition holds."""
    return [
        statement["Fn::If"][1] if "Fn::If" in statement else statement
        for policy in resource(logical_id)["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def test_every_state_machine_deploys_what_statelint_checked() -> None:
    from scripts.lint_state_machines import rendered_definitions

    rendered = rendered_definitions()

    assert set(rendered) == set(WORKFLOW_ROLES)
    for text in rendered.values():
        assert json.loads(text)["StartAt"]


def test_workflow_roles_are_for_step_functions_in_this_account_and_log_and_trace() -> None:
    for machine, role in WORKFLOW_ROLES.items():
        properties = resource(machine)["Properties"]
        assert properties["Role"] == {"Fn::GetAtt": [role, "Arn"]}
        assert properties["Tracing"] == {"Enabled": True}
        assert properties["Logging"]["Level"] in {"ERROR", "ALL"}
        [trust] = resource(role)["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "states.amazonaws.com"}
        assert trust["Condition"]["StringEquals"] == {
            "aws:SourceAccount": {"Ref": "AWS::AccountId"}
        }


def test_workflow_and_service_roles_use_wildcards_only_where_iam_has_no_resource() -> None:
    for role in [
        *WORKFLOW_ROLES.values(),
        "SageMakerExecutionRole",
        "EmrInstanceRole",
        "EmrServiceRole",
    ]:
        for statement in role_statements(role):
            actions = set(as_list(statement["Action"]))
            assert not any(action.endswith(":*") for action in actions), statement
            if "*" in as_list(statement["Resource"]):
                assert actions <= NO_RESOURCE_TYPE, (role, statement["Sid"])


def test_roles_are_passed_only_to_the_services_that_use_them() -> None:
    for role in ("BatchTransformWorkflowRole", "DeploySuggesterWorkflowRole"):
        [sagemaker] = [s for s in role_statements(role) if s["Action"] == "iam:PassRole"]
        assert sagemaker["Resource"] == {"Fn::GetAtt": ["SageMakerExecutionRole", "Arn"]}
        assert sagemaker["Condition"] == {
            "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
        }
    passed = {
        s["Resource"]["Fn::GetAtt"][0]: s["Condition"]
        for s in [*role_statements("LabelMiningWorkflowRole"), *role_statements("EmrServiceRole")]
        if s["Action"] == "iam:PassRole"
    }
    # The EMR guide's PassRoleForEMR / PassRoleForEC2 conditions (StringLike, for the
    # service principals of other partitions).
    assert passed == {
        "EmrServiceRole": {
            "StringLike": {"iam:PassedToService": "elasticmapreduce.amazonaws.com*"}
        },
        "EmrInstanceRole": {"StringLike": {"iam:PassedToService": "ec2.amazonaws.com*"}},
    }
    emr_passes = [
        s for s in role_statements("LabelMiningWorkflowRole") if s["Action"] == "iam:PassRole"
    ]
    assert len(emr_passes) == 2


def test_the_cluster_and_the_model_write_only_their_own_prefixes() -> None:
    for role, prefixes in {
        "EmrInstanceRole": ("/mining/", "/emr-logs/"),
        "SageMakerExecutionRole": ("/transforms/",),
    }.items():
        for statement in role_statements(role):
            if "s3:PutObject" in as_list(statement["Action"]):
                for arn in as_list(statement["Resource"]):
                    assert any(prefix in arn["Fn::Sub"] for prefix in prefixes), arn
