import { IsNotEmpty, IsString } from "class-validator";
import { BaseProviderSettings } from "../settings";

export class PipefySettings extends BaseProviderSettings {
  /** Service account token, sent as `Authorization: Bearer`. */
  @IsString()
  @IsNotEmpty()
  token!: string;

  /** The organization's numeric id (from app.pipefy.com/organizations/<id>); its UUID is looked up. */
  @IsString()
  @IsNotEmpty()
  organizationId!: string;
}
