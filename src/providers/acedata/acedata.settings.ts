import { IsNotEmpty, IsOptional, IsString } from "class-validator";
import { BaseProviderSettings } from "../settings";

export class AceDataSettings extends BaseProviderSettings {
  @IsString()
  @IsNotEmpty()
  token!: string;

  @IsOptional()
  @IsString()
  applicationId?: string;
}
