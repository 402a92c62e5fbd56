import { IsNotEmpty, IsString } from "class-validator";
import { BaseProviderSettings } from "../settings";

export class AiStudioSettings extends BaseProviderSettings {
  @IsString()
  @IsNotEmpty()
  apiKey!: string;
}
