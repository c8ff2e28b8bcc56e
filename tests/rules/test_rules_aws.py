"""rules.d/aws.yaml: real-world AWS CLI v2 commands and the risk each must get.

Most commands come from the AWS CLI command reference examples (amzn-s3-demo-bucket, the
i-1234567890abcdef0 style IDs); the rest are the shapes agents and scripts use around them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from guardsh.engine.model import Decision, Risk, Verdict

RO, REV, DES, CAT = "read-only", "reversible", "destructive", "catastrophic"

CASES = [
    # --- reading: describe / list / get and friends ---
    ("aws ec2 describe-instances --instance-ids i-1234567890abcdef0", RO),
    ("aws ec2 describe-instances --filters \"Name=instance-state-name,Values=running\" "
     "--query \"Reservations[*].Instances[*].[InstanceId,Tags[?Key=='Name'].Value]\" --output text", RO),
    ("aws ec2 describe-instances --query 'Reservations[].Instances[?State.Name==`stopped`].InstanceId'", RO),
    ("aws ec2 describe-volumes --filters Name=status,Values=available", RO),
    ("aws ec2 describe-snapshots --owner-ids self --query \"Snapshots[?StartTime<='2022-06-01'].[SnapshotId]\"", RO),
    ("aws ec2 describe-images --owners amazon --filters \"Name=name,Values=amzn2-ami-hvm-*-x86_64-gp2\"", RO),
    ("aws ec2 describe-instance-attribute --instance-id i-1234567890abcdef0 --attribute disableApiTermination", RO),
    ("aws ec2 get-console-output --instance-id i-1234567890abcdef0", RO),
    ("aws ec2 wait instance-running --instance-ids i-1234567890abcdef0", RO),
    ("aws s3 ls s3://amzn-s3-demo-bucket/example/ --recursive --human-readable --summarize", RO),
    ("aws s3 presign s3://amzn-s3-demo-bucket/test2.txt --expires-in 604800", RO),
    ("aws s3api head-object --bucket amzn-s3-demo-bucket --key index.html", RO),
    ("aws s3api list-object-versions --bucket amzn-s3-demo-bucket --prefix index.html", RO),
    ("aws s3api get-bucket-versioning --bucket amzn-s3-demo-bucket", RO),
    ("aws s3api get-bucket-acl --bucket amzn-s3-demo-bucket", RO),
    ("aws s3api wait object-exists --bucket amzn-s3-demo-bucket --key doc1.rtf", RO),
    ("aws iam get-account-authorization-details", RO),
    ("aws iam list-access-keys --user-name Bob", RO),
    ("aws iam generate-credential-report", RO),
    ("aws iam simulate-principal-policy --policy-source-arn arn:aws:iam::123456789012:user/Bob "
     "--action-names s3:DeleteBucket", RO),
    ("aws kms describe-key --key-id alias/my-key", RO),
    ("aws kms decrypt --ciphertext-blob fileb://ExampleEncryptedFile --key-id 1234abcd-12ab-34cd-56ef-1234567890ab "
     "--output text --query Plaintext", RO),
    ("aws kms generate-data-key --key-id alias/ExampleAlias --key-spec AES_256", RO),
    ("aws rds describe-db-snapshots --db-instance-identifier mydbinstance", RO),
    ("aws rds download-db-log-file-portion --db-instance-identifier test-instance --log-file-name log.txt --output text", RO),
    ("aws dynamodb query --table-name MusicCollection --key-condition-expression \"Artist = :v1\" "
     "--expression-attribute-values file://expression-attributes.json", RO),
    ("aws dynamodb get-item --table-name MusicCollection --key file://key.json", RO),
    ("aws logs get-log-events --log-group-name my-logs --log-stream-name 20150601", RO),
    ("aws logs filter-log-events --log-group-name my-logs --filter-pattern '\"terminate-instances\"'", RO),
    ("aws cloudformation list-stack-resources --stack-name myteststack", RO),
    ("aws cloudformation validate-template --template-body file://sampletemplate.json", RO),
    ("aws cloudformation detect-stack-drift --stack-name my-stack", RO),
    ("aws cloudformation wait stack-create-complete --stack-name my-stack", RO),
    ("aws cloudwatch get-metric-statistics --metric-name CPUUtilization --namespace AWS/EC2 --statistics Maximum "
     "--dimensions Name=InstanceId,Value=i-1234567890abcdef0 --start-time 2024-01-01T00:00:00 "
     "--end-time 2024-01-02T00:00:00 --period 3600", RO),
    ("aws cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=DeleteBucket", RO),
    ("aws ecr describe-images --repository-name my-repo", RO),
    ("aws ecs describe-services --cluster MyCluster --services my-http-service", RO),
    ("aws eks list-clusters", RO),
    ("aws secretsmanager list-secrets", RO),
    ("aws ssm get-parameters-by-path --path /site/newdomain --recursive --with-decryption", RO),
    ("aws route53 list-resource-record-sets --hosted-zone-id Z1R8UBAEXAMPLE", RO),
    ("aws organizations describe-organization", RO),
    ("aws sts get-session-token --serial-number arn:aws:iam::123456789012:mfa/user --token-code 123456", RO),
    ("aws configure get region --profile dev", RO),
    ("aws --version", RO),
    ("aws --profile prod --region us-east-1 --output table ec2 describe-vpcs", RO),
    ("aws --debug --no-cli-pager s3 ls", RO),
    # --- help and dry runs ---
    ("aws help", RO),
    ("aws s3 cp help", RO),
    ("aws iam delete-user help", RO),
    ("aws ec2 reboot-instances --instance-ids i-1234567890abcdef5 --dry-run", RO),
    ("aws ec2 delete-vpc --vpc-id vpc-a01106c2 --dry-run", RO),
    ("aws ec2 terminate-instances --dry-run --instance-ids i-1234567890abcdef0", RO),
    ("aws s3 mv s3://amzn-s3-demo-bucket/test.txt s3://amzn-s3-demo-bucket2/ --dryrun", RO),
    ("aws s3 rb s3://amzn-s3-demo-bucket --force --dryrun", RO),
    # --- routine, reversible changes ---
    ("aws s3 cp s3://amzn-s3-demo-bucket/ . --recursive", REV),
    ("aws s3 cp myfolder s3://amzn-s3-demo-bucket/myfolder --recursive --exclude \"*.tmp\"", REV),
    ("aws s3 cp s3://amzn-s3-demo-bucket/stream.txt -", REV),
    ("aws s3 sync s3://amzn-s3-demo-bucket .", REV),
    ("aws s3api put-object --bucket amzn-s3-demo-bucket --key my-dir/MySampleImage.png --body MySampleImage.png", REV),
    ("aws s3api create-bucket --bucket amzn-s3-demo-bucket --region us-east-1", REV),
    ("aws s3api get-object --bucket text-content --key dir/my_images.tar.bz2 my_images.tar.bz2", REV),
    ("aws ec2 create-volume --volume-type gp2 --size 80 --availability-zone us-east-1a", REV),
    ("aws ec2 attach-volume --volume-id vol-1234567890abcdef0 --instance-id i-01474ef662b89480 --device /dev/sdf", REV),
    ("aws ec2 allocate-address", REV),
    ("aws ec2 create-image --instance-id i-1234567890abcdef0 --name \"My server\" --no-reboot", REV),
    ("aws ec2 copy-snapshot --region us-east-1 --source-region us-west-2 --source-snapshot-id snap-066877671789bd71b", REV),
    ("aws ec2 delete-tags --resources ami-1234567890abcdef0 --tags Key=Stack", REV),
    ("aws ec2 modify-volume --volume-id vol-1234567890abcdef0 --size 150", REV),
    ("aws rds create-db-instance --db-instance-identifier test-mysql-instance --db-instance-class db.t3.micro "
     "--engine mysql --master-username admin --master-user-password secret99 --allocated-storage 20", REV),
    ("aws rds create-db-snapshot --db-instance-identifier database-mysql --db-snapshot-identifier mydbsnapshot", REV),
    ("aws rds start-db-instance --db-instance-identifier test-instance", REV),
    ("aws lambda create-function --function-name my-function --runtime nodejs18.x --zip-file fileb://my-function.zip "
     "--handler my-function.handler --role arn:aws:iam::123456789012:role/service-role/MyTestFunction-role-tges6bf4", REV),
    ("aws lambda update-function-configuration --function-name my-function --memory-size 256", REV),
    ("aws lambda publish-version --function-name my-function", REV),
    ("aws dynamodb create-table --table-name MusicCollection --attribute-definitions AttributeName=Artist,AttributeType=S "
     "--key-schema AttributeName=Artist,KeyType=HASH --billing-mode PAY_PER_REQUEST", REV),
    ("aws dynamodb update-item --table-name MusicCollection --key file://key.json "
     "--update-expression \"SET Year = :y\" --expression-attribute-values file://expression-attribute-values.json", REV),
    ("aws sns publish --topic-arn arn:aws:sns:us-west-2:123456789012:my-topic --message \"Hello World!\"", REV),
    ("aws sqs create-queue --queue-name MyQueue", REV),
    ("aws cloudformation create-change-set --stack-name my-application --change-set-name my-change-set "
     "--template-body file://my-template.json", REV),
    ("aws cloudformation deploy --template-file template.yaml --stack-name my-new-stack --no-execute-changeset", REV),
    ("aws ecr create-repository --repository-name project-a/sample-repo", REV),
    ("aws kms create-key --description \"My key\"", REV),
    ("aws kms enable-key-rotation --key-id 1234abcd-12ab-34cd-56ef-1234567890ab", REV),
    ("aws kms cancel-key-deletion --key-id 1234abcd-12ab-34cd-56ef-1234567890ab", REV),
    ("aws secretsmanager create-secret --name MyTestSecret --secret-string file://mycreds.json", REV),
    ("aws secretsmanager restore-secret --secret-id MyTestSecret", REV),
    ("aws configure set default.region us-west-2", REV),
    ("aws ecs update-service --cluster test --service my-http-service --task-definition amazon-ecs-sample", REV),
    ("aws autoscaling set-desired-capacity --auto-scaling-group-name my-asg --desired-capacity 2 --honor-cooldown", REV),
    ("aws athena start-query-execution --query-string \"SELECT * FROM cloudtrail_logs LIMIT 10\" --work-group primary", REV),
    # --- destructive: deleting, stopping, cutting access ---
    ("aws ec2 terminate-instances --instance-ids i-1234567890abcdef0 i-0598c7d356eba48d7", DES),
    ("aws ec2 stop-instances --instance-ids i-1234567890abcdef0 --hibernate", DES),
    ("aws ec2 detach-volume --volume-id vol-1234567890abcdef0", DES),
    ("aws ec2 delete-security-group --group-name MySecurityGroup", DES),
    ("aws ec2 authorize-security-group-ingress --group-id sg-1234567890abcdef0 "
     "--ip-permissions IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=\"[{CidrIp=0.0.0.0/0}]\"", DES),
    ("aws ec2 modify-instance-attribute --instance-id i-1234567890abcdef0 --no-disable-api-termination", DES),
    ("aws ec2 modify-image-attribute --image-id ami-5731123e --launch-permission \"Add=[{Group=all}]\"", DES),
    ("aws ec2 cancel-spot-instance-requests --spot-instance-request-ids sir-08b93456", DES),
    ("aws ec2 disassociate-route-table --association-id rtbassoc-781d0d1a", DES),
    ("aws ec2 replace-network-acl-entry --network-acl-id acl-5fb85d36 --ingress --rule-number 100 --protocol udp "
     "--port-range From=53,To=53 --cidr-block 203.0.113.12/24 --rule-action allow", DES),
    ("aws ec2 release-address --public-ip 198.51.100.0", DES),
    ("aws s3 rm s3://amzn-s3-demo-bucket/ --recursive --exclude \"another/*\"", DES),
    ("aws s3 mv . s3://amzn-s3-demo-bucket/ --recursive --exclude \"*.jpg\"", DES),
    ("aws s3 sync s3://amzn-s3-demo-bucket s3://amzn-s3-demo-bucket2 --delete", DES),
    ("aws s3 cp s3://amzn-s3-demo-bucket/id_rsa.pub ~/.ssh/authorized_keys", DES),
    ("aws s3api delete-objects --bucket amzn-s3-demo-bucket --delete file://delete.json", DES),
    ("aws s3api delete-bucket-policy --bucket amzn-s3-demo-bucket", DES),
    ("aws s3api put-object-acl --bucket amzn-s3-demo-bucket --key file.txt "
     "--grant-read uri=http://acs.amazonaws.com/groups/global/AllUsers", DES),
    ("aws s3api put-bucket-lifecycle-configuration --bucket amzn-s3-demo-bucket --lifecycle-configuration file://lifecycle.json", DES),
    ("aws s3api abort-multipart-upload --bucket amzn-s3-demo-bucket --key multipart/01 --upload-id dfRtDYU0WWCCcH43C3WFbkRONycyCpTJJvxu2i5GYkZljF.Yxwh6XG7WfS2vC4to6HiV6Yjlx.cph0gtNBtJ8P3URCSbB7rjxI5iEwVDmgaXZOGgkk5nVTW16HOQ5l0R", DES),
    ("aws s3api put-bucket-versioning --bucket amzn-s3-demo-bucket --versioning-configuration Status=Suspended", DES),
    ("aws rds delete-db-snapshot --db-snapshot-identifier mydbsnapshot", DES),
    ("aws rds modify-db-instance --db-instance-identifier test-instance --backup-retention-period 0 --apply-immediately", DES),
    ("aws rds stop-db-cluster --db-cluster-identifier mydbcluster", DES),
    ("aws rds delete-db-cluster --db-cluster-identifier mycluster --skip-final-snapshot --delete-automated-backups", DES),
    ("aws redshift delete-cluster --cluster-identifier mycluster --final-cluster-snapshot-identifier myfinalsnapshot", DES),
    ("aws elasticache delete-cache-cluster --cache-cluster-id my-cluster", DES),
    ("aws efs delete-file-system --file-system-id fs-c7a0456e", DES),
    ("aws dynamodb delete-backup --backup-arn arn:aws:dynamodb:us-west-2:123456789012:table/MusicCollection/backup/01576616366715-b4e58d3a", DES),
    ("aws lambda remove-permission --function-name my-function --statement-id sns", DES),
    ("aws lambda add-permission --function-name my-function --action lambda:InvokeFunction "
     "--statement-id sns --principal sns.amazonaws.com", DES),
    ("aws lambda put-function-concurrency --function-name my-function --reserved-concurrent-executions 0", DES),
    ("aws iam create-role --role-name Test-Role --assume-role-policy-document file://Test-Role-Trust-Policy.json", DES),
    ("aws iam create-login-profile --user-name Bob --password 'My!User1Login8P@ssword' --password-reset-required", DES),
    ("aws iam put-user-policy --user-name Bob --policy-name ExamplePolicy --policy-document file://AdminPolicy.json", DES),
    ("aws iam deactivate-mfa-device --user-name Bob --serial-number arn:aws:iam::210987654321:mfa/BobsMFADevice", DES),
    ("aws iam update-access-key --access-key-id AKIAIOSFODNN7EXAMPLE --status Inactive --user-name Bob", DES),
    ("aws iam create-policy-version --policy-arn arn:aws:iam::123456789012:policy/MyPolicy "
     "--policy-document file://NewPolicyVersion.json --set-as-default", DES),
    ("aws iam update-account-password-policy --minimum-password-length 8 --require-numbers", DES),
    ("aws iam delete-account-password-policy", DES),
    ("aws kms disable-key --key-id 1234abcd-12ab-34cd-56ef-1234567890ab", DES),
    ("aws kms revoke-grant --key-id 1234abcd-12ab-34cd-56ef-1234567890ab "
     "--grant-id 1234a2345b8a4e350500d432bccf8ecd6506710e1391880c4f7f7140160c9af3", DES),
    ("aws kms schedule-key-deletion --key-id 1234abcd-12ab-34cd-56ef-1234567890ab --pending-window-in-days 30", DES),
    ("aws cloudformation update-stack --stack-name mystack --template-body file://sampletemplate.json "
     "--parameters ParameterKey=KeyPairName,ParameterValue=SampleKeyPair", DES),
    ("aws cloudformation delete-stack --stack-name my-stack", DES),
    ("aws cloudformation execute-change-set --change-set-name "
     "arn:aws:cloudformation:us-west-2:123456789012:changeSet/my-change-set/4eca1a01-e285-xmpl-8026-9a1967bfb861", DES),
    ("aws route53 delete-hosted-zone --id Z36KTIQEXAMPLE", DES),
    ("aws sqs delete-queue --queue-url https://sqs.us-east-1.amazonaws.com/80398EXAMPLE/MyQueue", DES),
    ("aws sns delete-topic --topic-arn arn:aws:sns:us-west-2:123456789012:my-topic", DES),
    ("aws ecs delete-cluster --cluster MyCluster", DES),
    ("aws eks delete-nodegroup --cluster-name my-eks-cluster --nodegroup-name my-eks-nodegroup", DES),
    ("aws ecr delete-repository --repository-name ubuntu --force", DES),
    ("aws elbv2 deregister-targets --target-group-arn "
     "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 --targets Id=i-1234567890abcdef0", DES),
    ("aws autoscaling terminate-instance-in-auto-scaling-group --instance-id i-93633f9b --should-decrement-desired-capacity", DES),
    ("aws logs delete-log-stream --log-group-name my-logs --log-stream-name 20150531", DES),
    ("aws logs put-retention-policy --log-group-name my-logs --retention-in-days 5", DES),
    ("aws secretsmanager delete-secret --secret-id MyTestSecret --recovery-window-in-days 7", DES),
    ("aws backup delete-backup-vault --backup-vault-name TestVault", DES),
    ("aws ssm delete-parameter --name MyParameter", DES),
    ("aws ssm send-command --instance-ids i-0cb2b964d3e14fd9f --document-name AWS-RunShellScript "
     "--parameters commands=\"rm -rf /var/app\"", DES),
    ("aws glacier delete-archive --account-id - --vault-name my-vault "
     "--archive-id nkbByEejwEggmBz2fTHgJrg0XBoDfjP4q6iu87-TjhqG6eGoOY9Z8i1_AUyUsuhPAdTqLHy8pTl5nfCFJmDl2yEZONi5L26Omw12vcs01MNGntHEQL8MBfGlqrEXAMPLEArchiveId", DES),
    ("aws cloudtrail stop-logging --name my-trail", DES),
    ("aws configservice stop-configuration-recorder --configuration-recorder-name default", DES),
    ("aws events disable-rule --name DailyLambdaFunction", DES),
    ("aws route53domains update-domain-nameservers --region us-east-1 --domain-name example.com "
     "--nameservers Name=ns1.example.com Name=ns2.example.com", DES),
    ("aws ec2 terminate-instances --instance-ids i-0abc1234def567890 --no-dry-run", DES),
    # a production profile escalates destructive to catastrophic (guardsh/engine/production.py)
    ("aws --profile prod --region us-east-1 ec2 terminate-instances --instance-ids i-0abc1234def567890", CAT),
    ("aws $SERVICE delete-stack --stack-name my-stack", DES),
    # --- catastrophic: account loss, deletions chosen at run time ---
    ("aws organizations close-account --account-id 123456789012", CAT),
    ("aws --profile management organizations remove-account-from-organization --account-id 333333333333", CAT),
    ("aws organizations leave-organization", CAT),
    ("aws dynamodb list-tables --query 'TableNames[]' --output text | xargs -n1 aws dynamodb delete-table --table-name", CAT),
    ("aws s3api list-buckets --query 'Buckets[].Name' --output text | xargs -n1 -I% aws s3 rb s3://% --force", CAT),
    ("aws ec2 terminate-instances --instance-ids $(aws ec2 describe-instances "
     "--query 'Reservations[].Instances[].InstanceId' --output text)", CAT),
    ("aws cloudformation delete-stack --stack-name "
     "`aws cloudformation list-stacks --query 'StackSummaries[0].StackName' --output text`", CAT),
]

WRAPPERS = [
    # the same aws command inside wrappers, environment assignments and pipelines
    ("AWS_PROFILE=prod aws s3 rb s3://x --force", CAT),  # production context: destructive -> catastrophic
    ("xargs -n1 aws s3 rm", DES),
    ("bash -c 'aws ec2 terminate-instances --instance-ids i-1'", DES),
    ("sudo -u deploy aws rds delete-db-instance --db-instance-identifier x --skip-final-snapshot", DES),
    ("env AWS_REGION=us-east-1 aws ec2 stop-instances --instance-ids i-1234567890abcdef0", DES),
    ("timeout 300 aws s3 sync ./site s3://amzn-s3-demo-bucket --delete", DES),
    ("ssh bastion 'aws ec2 terminate-instances --instance-ids i-1234567890abcdef0'", DES),
    ("eval 'aws s3 rb s3://amzn-s3-demo-bucket --force'", DES),
    ("find . -name '*.bak' -exec aws s3 mv {} s3://amzn-s3-demo-bucket/archive/ \\;", DES),
    ("aws sts get-caller-identity && aws s3 rb s3://amzn-s3-demo-bucket", DES),
    ("echo $(aws ec2 stop-instances --instance-ids i-1234567890abcdef0)", DES),
    ("cat ids.txt | xargs aws ec2 terminate-instances --instance-ids", CAT),
    ("sh -c 'aws organizations leave-organization'", CAT),
    # look-alikes: data, not an aws deletion
    ("aws ec2 describe-instances --filters Name=tag:delete,Values=true", RO),
    ("aws s3 ls s3://bucket/delete-me/", RO),
    ("echo aws s3 rb s3://x", RO),
    ("echo 'aws ec2 terminate-instances --instance-ids i-1'", RO),
    ("grep -r 'aws s3 rm' scripts/", RO),
    ("man aws", RO),
    ("aws s3 rm help", RO),
    ("aws s3 rm s3://amzn-s3-demo-bucket/key.txt --dryrun", RO),
    ("aws s3 sync . s3://amzn-s3-demo-bucket --delete --dryrun", RO),
    ("aws dynamodb get-item --table-name delete-queue --key file://key.json", RO),
    ("aws cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=TerminateInstances", RO),
    ("aws ec2 describe-instances --instance-ids $(aws ec2 describe-instances --query x --output text)", RO),
    ("aws s3 ls | grep delete | sort", RO),
    ("aws ecr get-login-password --region us-west-2 | docker login --username AWS --password-stdin "
     "123456789012.dkr.ecr.us-west-2.amazonaws.com", REV),
    ("aws s3 cp s3://bucket/rm-list.txt .", REV),
    ("aws s3 cp ./delete-me.txt s3://bucket/", REV),
    ("git commit -m 'aws s3 rb --force'", REV),
]


def _ids(cases: list[tuple[str, str]]) -> list[str]:
    return [f"{i:03d}:{' '.join(c.split())[:70]}" for i, (c, _) in enumerate(cases)]


@pytest.mark.parametrize(("command", "expected"), CASES, ids=_ids(CASES))
def test_aws_reference_commands(classify: Callable[[str], Verdict], command: str, expected: str) -> None:
    verdict = classify(command)
    assert verdict.risk.label == expected, [m.to_json() for m in verdict.matches]


@pytest.mark.parametrize(("command", "expected"), WRAPPERS, ids=_ids(WRAPPERS))
def test_aws_wrappers_and_look_alikes(classify: Callable[[str], Verdict], command: str, expected: str) -> None:
    verdict = classify(command)
    assert verdict.risk.label == expected, [m.to_json() for m in verdict.matches]


def test_enough_reference_commands() -> None:
    assert len(CASES) >= 80


@pytest.mark.parametrize(("command", "rule"), [
    ("aws s3 rm --recursive s3://amzn-s3-demo-bucket", "aws-s3-rm"),
    ("aws s3 rb --force s3://amzn-s3-demo-bucket", "aws-s3-rb-force"),
    ("aws s3 sync . s3://amzn-s3-demo-bucket --delete", "aws-s3-sync-delete"),
    ("aws rds delete-db-instance --db-instance-identifier test --skip-final-snapshot", "aws-db-delete-no-snapshot"),
    ("aws secretsmanager delete-secret --secret-id s --force-delete-without-recovery", "aws-secret-force-delete"),
    ("aws iam attach-role-policy --role-name R --policy-arn arn:aws:iam::aws:policy/AdministratorAccess", "aws-identity-change"),
    ("aws s3api put-bucket-policy --bucket amzn-s3-demo-bucket --policy file://policy.json", "aws-access-policy"),
    ("aws ecs update-service --cluster test --service web --desired-count 0", "aws-ecs-scale-to-zero"),
    ("aws cloudformation deploy --template-file t.yaml --stack-name s", "aws-cloudformation-apply"),
    ("aws route53 change-resource-record-sets --hosted-zone-id Z1 --change-batch file://c.json", "aws-dns-change"),
])
def test_the_specific_rule_explains(classify: Callable[[str], Verdict], command: str, rule: str) -> None:
    """The rule that says what this command does is among the matches shown to the agent."""
    assert rule in [m.rule for m in classify(command).matches]


def test_s3_paths_after_flags_are_positionals(classify: Callable[[str], Verdict]) -> None:
    """--recursive, --force and friends take no value, so the bucket stays a positional."""
    verdict = classify("aws s3 rm --recursive --quiet s3://amzn-s3-demo-bucket")
    view_args = [w.value for w in verdict.commands[0].words]
    assert view_args[-1] == "s3://amzn-s3-demo-bucket"
    assert verdict.risk == Risk.DESTRUCTIVE
    assert classify("aws s3 cp --recursive s3://b/conf /etc/app").risk == Risk.DESTRUCTIVE


def test_decisions(classify: Callable[[str], Verdict]) -> None:
    assert classify("aws ec2 describe-instances").decision == Decision.ALLOW
    assert classify("aws s3 cp a.txt s3://amzn-s3-demo-bucket/").decision == Decision.ALLOW
    assert classify("aws s3 rb s3://amzn-s3-demo-bucket --force").decision == Decision.ASK
    assert classify("aws organizations close-account --account-id 123456789012").decision == Decision.DENY


def test_refusal_offers_a_safer_way(classify: Callable[[str], Verdict]) -> None:
    verdict = classify("aws s3 sync . s3://amzn-s3-demo-bucket --delete")
    assert any(m.suggest and "--dryrun" in m.suggest for m in verdict.matches)


@pytest.mark.parametrize(("command", "expected"), [
    ("aws s3 cp dist/ s3://amzn-s3-demo-bucket/ --recursive", DES),
    ("aws lambda update-function-code --function-name f --zip-file fileb://f.zip", DES),
    ("aws ec2 describe-instances", RO),
    ("aws s3 ls s3://amzn-s3-demo-bucket", RO),
    ("aws s3 cp s3://amzn-s3-demo-bucket/report.csv .", REV),
    ("aws s3 cp dist/ s3://amzn-s3-demo-bucket/ --recursive --profile dev", REV),
    ("aws ec2 stop-instances --instance-ids i-1 --dry-run", RO),
])
def test_production_profile_in_the_environment(
    classify_in: Callable[..., Verdict], tmp_path: Path, command: str, expected: str,
) -> None:
    """AWS_PROFILE=production in the agent's environment makes every change ask; reads stay allowed."""
    project = tmp_path / "project"
    project.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AWS_PROFILE": "production"}
    verdict = classify_in(command, str(project), str(tmp_path), env)
    assert verdict.risk.label == expected, [m.to_json() for m in verdict.matches]


def test_no_production_context_by_default(classify_in: Callable[..., Verdict], tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AWS_PROFILE": "staging"}
    verdict = classify_in("aws s3 cp dist/ s3://amzn-s3-demo-bucket/ --recursive", str(project), str(tmp_path), env)
    assert verdict.risk == Risk.REVERSIBLE


@pytest.mark.xfail(strict=True, reason=(
    "engine gap: a loop variable does not carry where its values came from, so "
    "`for b in $(aws s3 ls ...)` deleting each one looks like a single `aws s3 rb \"s3://$b\"`"))
def test_loop_over_a_listing_is_bulk_deletion(classify: Callable[[str], Verdict]) -> None:
    verdict = classify("for b in $(aws s3 ls | awk '{print $3}'); do aws s3 rb \"s3://$b\" --force; done")
    assert verdict.risk == Risk.CATASTROPHIC
